import { PassThrough, type Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Upload } from '@aws-sdk/lib-storage';
import type { Resources } from '../shared/clients.ts';
import type { Config } from '../shared/config.ts';
import { emptyCounts, type IngestInput, type IngestResult, type RowCounts } from '../shared/contracts.ts';
import { exportSpec } from '../shared/exports.ts';
import { rejectedFileKeys, rejectsKey, rowPartition } from '../shared/keys.ts';
import { type CsvRecord, formatCsvRow, parseCsv } from './csv.ts';
import { decodeChunks, type Encoding, encodingFromBom, isUtf8 } from './decode.ts';
import { type HeaderLayout, isBlank, layoutHeader, type ParsedRow, readRow } from './rows.ts';
import { type RowVersion, storeBatch, versionRank } from './store.ts';

export interface IngestDeps {
  config: Config;
  s3: S3Client;
  dynamodb: DynamoDBDocumentClient;
  resources: Resources;
  now?: () => Date;
}

const BATCH = 100;

/**
 * Ingests one stored file: streams it from S3, types and identifies each row, stores new
 * and newer versions, and writes rejected rows (with line and reason) beside the source.
 * Every data row is counted once: read = inserted + updated + unchanged + stale + rejected.
 */
export async function ingestFile(input: IngestInput, deps: IngestDeps): Promise<IngestResult> {
  const { file } = input;
  const spec = exportSpec(deps.config, file.type);
  const records = parseCsv(decodeChunks(...(await openDecoded(deps.s3, file.bucket, file.key))));
  const counts = emptyCounts();

  const first = await records.next();
  const header = first.done ? undefined : first.value.cells;
  const layout = header ? layoutHeader(header, spec) : { missing: spec.columns.map((c) => c.name) };
  if (!('layout' in layout)) {
    const reason = header
      ? `header lacks required column(s) of ${spec.type}: ${layout.missing.join(', ')}`
      : 'the file is empty';
    for await (const record of records) countRejectedWhole(record, counts);
    await rejectWholeFile(deps.s3, file.bucket, file.key, reason, counts);
    return { key: file.key, type: file.type, counts, fileRejected: reason };
  }

  const rejects = new RejectsWriter(deps.s3, file.bucket, file.key, header ?? []);
  const ingestedAt = (deps.now?.() ?? new Date()).toISOString();
  const store = { dynamodb: deps.dynamodb, table: deps.resources.table };
  let batch: RowVersion[] = [];
  let batchKeys = new Set<string>();
  const flush = async () => {
    if (batch.length === 0) return;
    for (const outcome of await storeBatch(batch, store)) counts[outcome]++;
    batch = [];
    batchKeys = new Set();
  };

  for await (const record of records) {
    const outcome = readRow(record.cells, layout.layout, deps.config.timeZone, deps.config.storage.shards);
    if (outcome.kind === 'blank') {
      counts.blank++;
      continue;
    }
    counts.read++;
    if (outcome.kind === 'rejected') {
      counts.rejected++;
      await rejects.add(record, outcome.reason);
      continue;
    }
    const row = toVersion(outcome.row, record.line, input, layout.layout, ingestedAt);
    // A batch holds each key once; a repeat of a key in the same file waits for the next batch.
    if (batchKeys.has(row.pk + row.sk)) await flush();
    batch.push(row);
    batchKeys.add(row.pk + row.sk);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  const rejectsObject = await rejects.close();
  return { key: file.key, type: file.type, counts, ...(rejectsObject ? { rejectsKey: rejectsObject } : {}) };
}

function toVersion(
  row: ParsedRow,
  line: number,
  { file }: IngestInput,
  layout: HeaderLayout,
  ingestedAt: string,
): RowVersion {
  return {
    pk: rowPartition(row.date, layout.spec.type, row.shard),
    sk: row.sk,
    type: layout.spec.type,
    date: row.date,
    values: row.values,
    ...(row.extra ? { extra: row.extra } : {}),
    complete: row.complete,
    exportedAt: file.exportedAt,
    digest: row.digest,
    rank: versionRank(row.complete, file.exportedAt, file.sha256, line),
    source: {
      key: file.key,
      messageId: file.messageId,
      receivedAt: file.receivedAt,
      exportedAt: file.exportedAt,
      attachmentName: file.attachmentName,
    },
    ingestedAt,
  };
}

function countRejectedWhole(record: CsvRecord, counts: RowCounts): void {
  if (isBlank(record.cells)) {
    counts.blank++;
  } else {
    counts.read++;
    counts.rejected++;
  }
}

/**
 * The object's bytes as a stream, with its encoding: from a byte-order mark, else UTF-8
 * when every byte of it is valid UTF-8 (checked in a first streamed pass), else Windows-1252.
 */
async function openDecoded(s3: S3Client, bucket: string, key: string): Promise<[AsyncIterable<Uint8Array>, Encoding]> {
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
  if (bom) return [replay(), bom.encoding];
  if (await isUtf8(replay())) return [await open(), 'utf-8'];
  return [await open(), 'windows-1252'];
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
  private upload: Promise<unknown> | undefined;
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
      }).done();
      this.stream.write(formatCsvRow(['line', 'reason', ...this.header]));
    }
    if (!this.stream.write(formatCsvRow([record.line, reason, ...record.cells]))) {
      await new Promise((resolve) => this.stream?.once('drain', resolve));
    }
  }

  async close(): Promise<string | undefined> {
    if (!this.stream) return undefined;
    this.stream.end();
    await this.upload;
    return this.key;
  }
}
