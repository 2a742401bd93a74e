import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { IgnoredReason, IngestResult, ProblemsSummary, SourceFile } from '../common/contracts.ts';
import { maxCellCharacters } from '../common/excel.ts';
import { formatCsvRow, parseCsv } from '../ingest/csv.ts';
import { decodeChunks } from '../ingest/decode.ts';
import { cutCell } from './xlsx.ts';

/**
 * What went wrong in a run, for the workbook's Problems tab and the email's attention block:
 * the files rejected whole, the rejected rows (read back from the rejects objects the run's
 * ingests wrote) and the mail left out that looked like an export.
 */
export const PROBLEM_LIMITS = {
  /** Rejected rows the Problems tab lists; every one is counted, and all are in the rejects objects. */
  tabRows: 1_000,
  /** Distinct reasons counted apart; rows of further reasons are counted under `other reasons`. */
  reasonGroups: 100,
  /** Entries of each list in the Build state's output (rejected files, reasons, suspicious ignores). */
  listed: 10,
  /** Characters of a reason or file name in the Build state's output. */
  textChars: 300,
} as const;

export interface RejectedRow {
  type: string;
  /** The raw key of the file the row came from. */
  file: string;
  line: number;
  reason: string;
  /** The row's cells as CSV, as the rejects object holds them (formula-like text starts with `'`). */
  raw: string;
}

export interface RejectedFile {
  key: string;
  type: string;
  reason: string;
  /** Where the file came from, when the run's manifest names it. */
  source?: SourceFile;
}

/** One rejects object of the run: the file it belongs to and how many rows it holds. */
export interface RejectsObject {
  file: string;
  type: string;
  uri: string;
  rows: number;
}

export interface RunProblems {
  rejectedFiles: RejectedFile[];
  /** The first rejected rows, up to PROBLEM_LIMITS.tabRows, in file and line order. */
  rows: RejectedRow[];
  /** Every rejected row in the run's rejects objects. */
  rowCount: number;
  /** Rejected rows by reason group, most frequent first. */
  reasons: { reason: string; count: number }[];
  rejectsObjects: RejectsObject[];
  /** Mail left out that looked like an export, grouped by reason. */
  suspiciousIgnored: IgnoredReason[];
}

const otherReasons = 'other reasons';

/**
 * A row reject's reason without the value quoted after it, so that rows rejected for the same
 * cause count together: `Handle: not a number: abc` → `Handle: not a number`.
 */
export function reasonGroup(reason: string): string {
  const parts = reason.split(': ');
  return parts.length > 2 ? `${parts[0]}: ${parts[1]}` : reason;
}

/**
 * Reads the rejects objects of the run's files, one at a time and streaming: memory holds the
 * rows listed and the reason counts, whatever the number of rejects.
 */
export async function readRunProblems(
  s3: S3Client,
  bucket: string,
  results: readonly IngestResult[],
  files: readonly SourceFile[],
  ignored: readonly IgnoredReason[],
): Promise<RunProblems> {
  const sources = new Map(files.map((file) => [file.key, file]));
  const rejectedFiles = results
    .filter((result) => result.fileRejected !== undefined && !result.quarantined)
    .map((result) => {
      const source = sources.get(result.key);
      return { key: result.key, type: result.type, reason: result.fileRejected ?? '', ...(source ? { source } : {}) };
    });
  const rows: RejectedRow[] = [];
  const counts = new Map<string, number>();
  const rejectsObjects: RejectsObject[] = [];
  let rowCount = 0;
  for (const result of results) {
    if (!result.rejectsKey) continue;
    let inFile = 0;
    for await (const record of rejectRecords(s3, bucket, result.rejectsKey)) {
      const [line = '', reason = '', ...cells] = record;
      inFile++;
      const group = reasonGroup(reason);
      const key = counts.has(group) || counts.size < PROBLEM_LIMITS.reasonGroups ? group : otherReasons;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (rows.length < PROBLEM_LIMITS.tabRows) {
        rows.push({ type: result.type, file: result.key, line: Number(line), reason, raw: csvLine(cells) });
      }
    }
    rowCount += inFile;
    rejectsObjects.push({
      file: result.key,
      type: result.type,
      uri: `s3://${bucket}/${result.rejectsKey}`,
      rows: inFile,
    });
  }
  const reasons = [...counts]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  return {
    rejectedFiles,
    rows,
    rowCount,
    reasons,
    rejectsObjects,
    suspiciousIgnored: ignored.filter((reason) => reason.severity !== 'intentional'),
  };
}

export function hasProblems(problems: RunProblems, quarantined: number): boolean {
  return (
    problems.rejectedFiles.length > 0 ||
    problems.rowCount > 0 ||
    problems.suspiciousIgnored.length > 0 ||
    quarantined > 0
  );
}

/** What the Build state hands on: counts and capped lists, with texts cut short. */
export function problemsSummary(problems: RunProblems): ProblemsSummary | undefined {
  const { rejectedFiles, rowCount, reasons, suspiciousIgnored } = problems;
  if (rejectedFiles.length === 0 && rowCount === 0 && suspiciousIgnored.length === 0) return undefined;
  const { listed, textChars } = PROBLEM_LIMITS;
  const cut = (text: string) => (text.length > textChars ? `${text.slice(0, textChars - 1)}…` : text);
  return {
    rejectedFiles: {
      count: rejectedFiles.length,
      listed: rejectedFiles.slice(0, listed).map((file) => ({
        file: cut(file.source?.attachmentName || file.key),
        type: file.type,
        reason: cut(file.reason),
      })),
    },
    rowRejects: {
      count: rowCount,
      reasons: reasons.slice(0, listed).map(({ reason, count }) => ({ reason: cut(reason), count })),
      reasonsNotListed: Math.max(0, reasons.length - listed),
    },
    suspiciousIgnored: {
      count: suspiciousIgnored.reduce((sum, reason) => sum + reason.count, 0),
      listed: suspiciousIgnored.slice(0, listed).map(({ reason, count, fix }) => ({
        reason: cut(reason),
        count,
        ...(fix ? { fix: cut(fix) } : {}),
      })),
    },
  };
}

/** The records of a rejects object after its header (`line, reason, <original cells>`). */
export async function* rejectRecords(s3: S3Client, bucket: string, key: string): AsyncGenerator<string[]> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = object.Body as AsyncIterable<Uint8Array> | undefined;
  if (!body) return;
  for await (const batch of parseCsv(decodeChunks(body, 'utf-8'))) {
    for (const record of batch) if (record.line > 1) yield record.cells;
  }
}

const utf8 = new TextDecoder();

/** A row's cells as one CSV line, within a cell's limit. */
function csvLine(cells: readonly string[]): string {
  const text = utf8.decode(formatCsvRow(cells)).replace(/\r\n$/, '');
  return text.length > maxCellCharacters ? cutCell(text) : text;
}
