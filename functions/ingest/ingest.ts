import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Upload } from '@aws-sdk/lib-storage';
import type { Resources } from '../common/clients.ts';
import type { Config } from '../common/config.ts';
import { emptyCounts, type IngestInput, type IngestResult, type RowCounts } from '../common/contracts.ts';
import { exportSpec } from '../common/exports.ts';
import { rawKeyParts, rejectedFileKeys, rejectsKey, rowPartition } from '../common/keys.ts';
import { logger } from '../common/observability.ts';
import { findQuarantined, quarantine } from '../common/quarantine.ts';
import { isTransientAwsError, TransientError } from '../common/retry.ts';
import type { RowLineage } from '../common/rows.ts';
import { CsvParser, type CsvRecord, type Delimiter, formatCsvRow, parseCsv, readAhead } from './csv.ts';
import {
  decodeChunks,
  type Encoding,
  encodingFromBom,
  REPLACEMENT_CHARACTER,
  readsAsUtf8,
  scanUtf8,
} from './decode.ts';
import { RowDigests } from './digests.ts';
import { type LeaseOptions, withLeases } from './lease.ts';
import {
  decimalReading,
  decimalSampleRows,
  type HeaderLayout,
  isBlank,
  layoutHeader,
  type ParsedRow,
  ROW_LIMITS,
  type RowBounds,
  type RowOutcome,
  RowReader,
} from './rows.ts';
import { type RowStore, type RowVersion, RowWriter } from './store.ts';

export interface IngestDeps {
  config: Config;
  s3: S3Client;
  dynamodb: DynamoDBDocumentClient;
  resources: Resources;
  now?: () => Date;
  /** Bounds of the write pipeline (defaults suit a Lambda with 1 GB) and how its backoff waits. */
  store?: Pick<RowStore, 'batchesInFlight' | 'requestsInFlight' | 'backoff'>;
  /** The leases rows are written under (lease.ts): in Lambda, when the invocation stops; in tests, clock and waits. */
  lease?: Pick<LeaseOptions, 'stopsAt' | 'maxWaitMs' | 'clock' | 'backoff'>;
}

/**
 * Ingests one stored file: streams it from S3, types and identifies each row, stores new
 * and newer versions (under the lease of each business date it has rows of, so that no
 * other ingest writes them meanwhile), and writes rejected rows (with line and reason)
 * beside the source.
 * Every data row is counted once: read = inserted + updated + unchanged + stale + rejected.
 * Memory stays bounded whatever the file's size: text is parsed chunk by chunk, at most a
 * few batches of rows are in flight, and rejects stream out with backpressure.
 *
 * A row that cannot be read, for whatever reason, is rejected alone. A failure of the file
 * itself that a retry would only repeat (`isFileFault`) quarantines the file
 * (common/quarantine.ts) and the run goes on; later runs skip it until it is released. The
 * rows it stored before the failure stay, each a version ranked like any other with the file
 * as its lineage (an undo of the file takes them out, a release reads the file again whole);
 * the rows it had read and not stored are counted rejected, so what was read reconciles.
 */
export async function ingestFile(input: IngestInput, deps: IngestDeps): Promise<IngestResult> {
  const { file } = input;
  const businessDate = fileBusinessDate(input);
  const held = await findQuarantined(deps.s3, file.bucket, businessDate, file.key);
  if (held) {
    return { key: file.key, type: file.type, counts: emptyCounts(), fileRejected: held.reason, quarantined: true };
  }
  const counts = emptyCounts();
  try {
    return await readFile(input, deps, counts);
  } catch (error) {
    if (!(error instanceof FileFailure) && !isFileFault(error)) throw error;
    const failure = error instanceof FileFailure ? error : new FileFailure(error, undefined);
    const record = await quarantine(
      deps.s3,
      file.bucket,
      {
        source: file.key,
        stage: 'ingest',
        date: businessDate,
        reason: failure.message,
        at: (deps.now?.() ?? new Date()).toISOString(),
        detail: { type: file.type, attachmentName: file.attachmentName, messageId: file.messageId },
      },
      { copyFrom: file.key },
    );
    logger.warn('file quarantined', { key: file.key, type: file.type, reason: record.reason });
    return {
      key: file.key,
      type: file.type,
      counts,
      fileRejected: record.reason,
      quarantined: true,
      ...(failure.rejectsKey ? { rejectsKey: failure.rejectsKey } : {}),
    };
  }
}

/**
 * Whether an error is the file's own, so that a rerun would only meet it again: anything but
 * an error of AWS, or DynamoDB refusing an item as invalid. A transient AWS error fails the
 * state for Step Functions to retry; any other AWS error (access denied, a missing table or
 * object) is the deployment's, fails the state too, and reads the file again once fixed.
 */
function isFileFault(error: unknown): boolean {
  if (error instanceof TransientError || isTransientAwsError(error)) return false;
  const fromAws = (error as { $metadata?: unknown } | undefined)?.$metadata !== undefined;
  return !fromAws || (error as Error).name === 'ValidationException';
}

/** A file's reading failed for good: why, and the rejects written for its rows before it did. */
class FileFailure extends Error {
  override name = 'FileFailure';
  constructor(
    cause: unknown,
    readonly rejectsKey: string | undefined,
    line?: number,
  ) {
    const what = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`unexpected error${line === undefined ? '' : ` after line ${line}`}: ${what}`, { cause });
  }
}

/** `ingestFile` without the quarantine: counts what it reads into `counts`, also when it throws. */
async function readFile(input: IngestInput, deps: IngestDeps, counts: RowCounts): Promise<IngestResult> {
  const { file } = input;
  const spec = exportSpec(deps.config, file.type);
  const source = await openDecoded(deps.s3, file.bucket, file.key);
  const parser = new CsvParser();
  const batches = parseCsv(decodeChunks(source.chunks, source.encoding), parser);

  // The header and the rows that settle how the file's numbers are read.
  const records = await readAhead(batches, 1 + decimalSampleRows);
  const header = records.shift();
  const layout = header ? layoutHeader(header.cells, spec, deps.config) : ({ rejected: 'the file is empty' } as const);
  if ('rejected' in layout) {
    for (const record of records) countRejectedWhole(record, counts);
    for await (const batch of batches) for (const record of batch) countRejectedWhole(record, counts);
    await rejectWholeFile(deps.s3, file.bucket, file.key, layout.rejected, counts);
    return { key: file.key, type: file.type, counts, fileRejected: layout.rejected };
  }

  const reader = fileRowReader(input, deps.config, layout.layout, parser.delimiter, records);
  const toVersion = versionMaker(
    input,
    layout.layout,
    (deps.now?.() ?? new Date()).toISOString(),
    deps.config.storage.keepDays,
  );
  /** A record's stored version, or why it is not stored; a row whose reading throws is rejected alone. */
  const readRecord = (record: CsvRecord): Exclude<RowOutcome, { kind: 'row' }> | RowVersion => {
    if (record.malformed) return { kind: 'rejected', reason: record.malformed };
    if (source.invalidBytes > 0 && holdsReplacement(record.cells)) {
      return { kind: 'rejected', reason: 'invalid UTF-8 byte(s)' };
    }
    try {
      const outcome = reader.read(record.cells);
      return outcome.kind === 'row' ? toVersion(outcome.row, record.line) : outcome;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { kind: 'rejected', reason: cutShort(`unexpected error: ${message}`) };
    }
  };
  const table = deps.resources.table;
  const digests = deps.config.rowDigests.enabled
    ? new RowDigests({
        s3: deps.s3,
        bucket: deps.resources.dataBucket,
        dynamodb: deps.dynamodb,
        table,
        shards: deps.config.storage.shards,
        keepDays: deps.config.storage.keepDays,
        clock: () => (deps.now?.() ?? new Date()).getTime(),
        ...(deps.store?.backoff ? { backoff: deps.store.backoff } : {}),
      })
    : undefined;
  return withLeases({ dynamodb: deps.dynamodb, table, heldFor: file.key, ...deps.lease }, async (leases) => {
    const writer = new RowWriter({
      dynamodb: deps.dynamodb,
      table,
      leases,
      ...deps.store,
      ...(digests ? { digests } : {}),
    });
    const rejects = new RejectsWriter(deps.s3, file.bucket, file.key, header?.cells ?? []);
    let line: number | undefined;
    try {
      const ingest = async (batch: CsvRecord[]) => {
        for (const record of batch) {
          line = record.line;
          const outcome = readRecord(record);
          if ('kind' in outcome) {
            if (outcome.kind === 'blank') {
              counts.blank++;
              continue;
            }
            counts.read++;
            counts.rejected++;
            await rejects.add(record, outcome.reason);
            continue;
          }
          counts.read++;
          const room = writer.add(outcome);
          if (room) await room;
        }
      };
      await ingest(records);
      for await (const batch of batches) await ingest(batch);
      const stored = await writer.finish();
      await digests?.save(leases);
      for (const outcome of ['inserted', 'updated', 'unchanged', 'stale'] as const) counts[outcome] = stored[outcome];
      const rejectsObject = await rejects.close();
      const reads = writer.reads + (digests?.reads ?? 0);
      return {
        key: file.key,
        type: file.type,
        counts,
        ...(rejectsObject ? { rejectsKey: rejectsObject } : {}),
        ...(reads > 0 ? { tableReads: reads } : {}),
      };
    } catch (error) {
      // No write may still be running when the leases are released.
      await writer.settle();
      if (!isFileFault(error)) {
        await rejects.abandon();
        throw error;
      }
      // What the writer stored counts as stored; the rest of what was read, as rejected.
      for (const outcome of ['inserted', 'updated', 'unchanged', 'stale'] as const) {
        counts[outcome] = writer.counts[outcome];
      }
      counts.rejected = counts.read - counts.inserted - counts.updated - counts.unchanged - counts.stale;
      const rejectsObject = await rejects.close().catch(async () => {
        await rejects.abandon();
        return undefined;
      });
      throw new FileFailure(error, rejectsObject, line);
    }
  });
}

function holdsReplacement(cells: readonly string[]): boolean {
  for (const cell of cells) if (cell.includes(REPLACEMENT_CHARACTER)) return true;
  return false;
}

/** A reason stays readable whatever the error's message. */
function cutShort(reason: string): string {
  return reason.length > 200 ? `${reason.slice(0, 200)}…` : reason;
}

/** A stored item's bytes apart from its values and lineage, from above: keys, rank, digest, times, names. */
const itemFrameBytes = 1024;

/** The day a file's raw key is filed under (the run's, for a key of another form). */
function fileBusinessDate({ file, run }: Pick<IngestInput, 'file' | 'run'>): string {
  return rawKeyParts(file.key)?.date ?? run.date;
}

/**
 * How a file's rows are read: its bounds, and its numbers' decimal mark settled from its
 * delimiter and first records. Undo reads a file with the same reader, so it finds the same
 * identities ingest stored.
 */
export function fileRowReader(
  input: IngestInput,
  config: Config,
  layout: HeaderLayout,
  delimiter: Delimiter | undefined,
  firstRecords: readonly CsvRecord[],
): RowReader {
  return new RowReader(
    layout,
    config.timeZone,
    config.storage.shards,
    rowBounds(input),
    decimalReading(layout.spec.decimal, delimiter ?? ',', layout, firstRecords),
  );
}

/**
 * The bounds of a file's rows: its business date (the day its raw key is filed under), and
 * what a row's values may take of DynamoDB's item limit once its lineage, shared by every
 * row of the file, and the rest of the item are counted.
 */
export function rowBounds({ file, run }: IngestInput): RowBounds {
  const lineage: RowLineage = {
    key: file.key,
    messageId: file.messageId,
    receivedAt: file.receivedAt,
    exportedAt: file.exportedAt,
    attachmentName: file.attachmentName,
  };
  return {
    businessDate: fileBusinessDate({ file, run }),
    valueBytes: ROW_LIMITS.itemBytes - itemFrameBytes - Buffer.byteLength(JSON.stringify(lineage)),
  };
}

/**
 * Turns a file's parsed rows into stored versions: the file's lineage and export time are
 * shared by every row, and only the line makes each rank its own.
 */
export function versionMaker(
  { file }: IngestInput,
  layout: HeaderLayout,
  ingestedAt: string,
  keepDays: number,
): (row: ParsedRow, line: number) => RowVersion {
  const type = layout.spec.type;
  const source: RowLineage = {
    key: file.key,
    messageId: file.messageId,
    receivedAt: file.receivedAt,
    exportedAt: file.exportedAt,
    attachmentName: file.attachmentName,
  };
  // The rank's layout (see store.ts), with the per-file part formed once.
  const rankTail = `|${new Date(file.exportedAt).toISOString()}|${file.sha256}|`;
  // A file's rows share one or two business dates: the expiry is worked out once per date.
  let expiryDate = '';
  let expiresAt = 0;
  return (row, line) => {
    if (row.date !== expiryDate) {
      expiryDate = row.date;
      expiresAt = Date.parse(`${row.date}T00:00:00Z`) / 1000 + keepDays * 86_400;
    }
    const version: RowVersion = {
      pk: rowPartition(row.date, type, row.shard),
      sk: row.sk,
      type,
      date: row.date,
      values: row.values,
      complete: row.complete,
      exportedAt: file.exportedAt,
      digest: row.digest,
      rank: `${row.complete ? 1 : 0}${rankTail}${String(line).padStart(9, '0')}`,
      source,
      ingestedAt,
      expiresAt,
    };
    // Assigned, not spread into the literal: a spread makes V8 build every item the slow way.
    if (row.extra) version.extra = row.extra;
    return version;
  };
}

function countRejectedWhole(record: CsvRecord, counts: RowCounts): void {
  if (!record.malformed && isBlank(record.cells)) {
    counts.blank++;
  } else {
    counts.read++;
    counts.rejected++;
  }
}

/** An object's bytes, the encoding they are read in, and the bytes that are not of it. */
export interface DecodedSource {
  chunks: AsyncIterable<Uint8Array>;
  encoding: Encoding;
  /** Invalid bytes of a file read as UTF-8: its rows holding one (a U+FFFD once decoded) are rejected. */
  invalidBytes: number;
}

/**
 * The object's bytes as a stream, with its encoding: UTF-16 from a byte-order mark; UTF-8
 * from its mark, or when its bytes read as UTF-8 (`readsAsUtf8`, checked in a first
 * streamed pass); else Windows-1252.
 */
export async function openDecoded(s3: S3Client, bucket: string, key: string): Promise<DecodedSource> {
  const open = async () => {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return object.Body as Readable;
  };
  const body = await open();
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const head = await iterator.next();
  const firstChunk = head.done ? new Uint8Array() : head.value;
  const replay = async function* () {
    yield firstChunk;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  };
  const bom = encodingFromBom(firstChunk);
  if (bom && bom.encoding !== 'utf-8') return { chunks: replay(), encoding: bom.encoding, invalidBytes: 0 };
  const scan = await scanUtf8(replay());
  const utf8 = bom !== undefined || readsAsUtf8(scan);
  return { chunks: await open(), encoding: utf8 ? 'utf-8' : 'windows-1252', invalidBytes: utf8 ? scan.invalid : 0 };
}

async function rejectWholeFile(s3: S3Client, bucket: string, key: string, reason: string, counts: RowCounts) {
  const target = rejectedFileKeys(key);
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: target.copy, CopySource: `${bucket}/${key}` }));
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: target.reason,
      ContentType: 'text/plain; charset=utf-8',
      Body: `${key}\nrejected whole: ${reason}\nrows: ${counts.read} (blank ${counts.blank})\n`,
    }),
  );
}

/** Streams rejected rows to `rejects/…rejects.csv`, opened on the first reject only. */
class RejectsWriter {
  private stream: PassThrough | undefined;
  private upload: Upload | undefined;
  private done: Promise<unknown> | undefined;
  readonly key: string;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    sourceKey: string,
    private readonly header: readonly string[],
  ) {
    this.key = rejectsKey(sourceKey);
  }

  async add(record: CsvRecord, reason: string): Promise<void> {
    if (!this.stream) {
      this.stream = new PassThrough();
      this.upload = new Upload({
        client: this.s3,
        params: { Bucket: this.bucket, Key: this.key, Body: this.stream, ContentType: 'text/csv; charset=utf-8' },
      });
      this.done = this.upload.done();
      // Awaited in close(); until then a failure must not surface as an unhandled rejection.
      this.done.catch(() => undefined);
      this.stream.write(formatCsvRow(['line', 'reason', ...this.header]));
    }
    if (!this.stream.write(formatCsvRow([record.line, reason, ...record.cells]))) {
      // A failed upload never drains: its error ends the wait instead.
      await Promise.race([once(this.stream, 'drain'), this.done]);
    }
  }

  async close(): Promise<string | undefined> {
    if (!this.stream) return undefined;
    this.stream.end();
    await this.done;
    return this.key;
  }

  /** The ingest failed: no partial rejects file is left (a rerun writes it whole). */
  async abandon(): Promise<void> {
    if (!this.upload) return;
    await this.upload.abort().catch(() => undefined);
    this.stream?.destroy();
  }
}
