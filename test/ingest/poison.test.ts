import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { IngestResult, Run, SourceFile } from '../../functions/common/contracts.ts';
import { TransientError } from '../../functions/common/errors.ts';
import { rejectsKey } from '../../functions/common/keys.ts';
import { findQuarantined, releaseQuarantined } from '../../functions/common/quarantine.ts';
import { CsvParser } from '../../functions/ingest/csv.ts';
import { RowReader } from '../../functions/ingest/rows.ts';
import type { LocalStack } from '../../local/stack.ts';
import { IB_HEADER, type IngestHandlerOnStack, ibLine, putSource, startIngestHandler, tableRows } from './files.ts';
import { poisonCases } from './poison.ts';

/**
 * Poison values and failing files through the deployed Lambda handler
 * (functions/ingest/index.ts) against the local S3 and DynamoDB: a bad value costs its row,
 * a file whose reading fails for good is quarantined, and neither fails the state.
 */

const config = loadConfigFile();
const run: Run = {
  date: '2026-03-09',
  reports: ['IB_Calls'],
  force: false,
  deliver: true,
  executionId: 'arn:aws:states:us-east-1:000000000000:execution:charlie-daily-report:poison',
  window: { start: '2026-03-09T05:00:00.000Z', end: '2026-03-10T07:00:00.000Z' },
};

let stack: LocalStack;
let ingestWithHandler: IngestHandlerOnStack['ingest'];
beforeAll(async () => {
  ({ stack, ingest: ingestWithHandler } = await startIngestHandler('poison', config));
});
afterAll(async () => stack.stop());
afterEach(() => vi.restoreAllMocks());

const bucket = () => stack.resources.dataBucket;

async function ingest(file: SourceFile): Promise<IngestResult> {
  const result = await ingestWithHandler(run, file);
  const { read, inserted, updated, unchanged, stale, rejected } = result.counts;
  expect(read).toBe(inserted + updated + unchanged + stale + rejected);
  return result;
}

const storedOf = async (file: SourceFile) =>
  (await tableRows(stack, stack.resources.table)).filter((row) => row.source.key === file.key);

/** The rejects object's rows, as line and reason. */
async function rejectsOf(file: SourceFile): Promise<{ line: number; reason: string }[]> {
  const object = await stack.clients.s3.send(new GetObjectCommand({ Bucket: bucket(), Key: rejectsKey(file.key) }));
  const parser = new CsvParser();
  const records = [...parser.push((await object.Body?.transformToString()) ?? ''), ...parser.end()];
  return records.slice(1).map((record) => ({ line: Number(record.cells[0]), reason: record.cells[1] as string }));
}

/** An IB_Calls export of `rows` rows, its agents named after `id`. */
function ibExport(id: string, rows: number): string {
  const lines = [IB_HEADER];
  for (let i = 0; i < rows; i++) lines.push(ibLine(8 + (i % 12), `${id}-${i}`, `Agent ${i}`, 1, 1000));
  return `${lines.join('\r\n')}\r\n`;
}

describe('poison values', () => {
  it.each(poisonCases)('$name: the good rows are stored, the bad row rejected with its reason', async (poison) => {
    const file = await putSource(stack, poison.type, poison.csv, '2026-03-09T15:00:00Z');
    const result = await ingest(file);
    expect(result.counts).toEqual({
      read: poison.stored + poison.rejects.length,
      inserted: poison.stored,
      updated: 0,
      unchanged: 0,
      stale: 0,
      rejected: poison.rejects.length,
      blank: 0,
    });
    expect(result.quarantined).toBeUndefined();
    expect(result.rejectsKey).toBe(rejectsKey(file.key));
    expect(await rejectsOf(file)).toEqual(poison.rejects);
    const stored = await storedOf(file);
    expect(stored).toHaveLength(poison.stored);
    expect(stored.map((row) => row.values['Agent Name'])).toEqual(stored.map(() => 'José Peña'));

    // A rerun of the day reads the file again the same way.
    expect((await ingest(file)).counts).toMatchObject({ inserted: 0, unchanged: poison.stored, rejected: 1 });
  });

  it('rejects a row whose reading throws, alone, with the error as its reason', async () => {
    const read = RowReader.prototype.read;
    vi.spyOn(RowReader.prototype, 'read').mockImplementation(function (this: RowReader, cells) {
      if (cells.includes('boom-1')) throw new RangeError('Invalid time value');
      return read.call(this, cells);
    });
    const file = await putSource(stack, 'IB_Calls', ibExport('boom', 3), '2026-03-09T15:00:00Z');
    const result = await ingest(file);
    expect(result.counts).toMatchObject({ read: 3, inserted: 2, rejected: 1 });
    expect(await rejectsOf(file)).toEqual([{ line: 3, reason: 'unexpected error: Invalid time value' }]);
  });
});

describe('a file whose ingest fails for good', () => {
  it('is quarantined with its reason and a copy, counted, skipped by reruns until released', async () => {
    const file = await putSource(stack, 'IB_Calls', ibExport('quarantined', 5), '2026-03-09T15:00:00Z');
    const push = vi.spyOn(CsvParser.prototype, 'push').mockImplementation(() => {
      throw new Error('parser fault');
    });
    const result = await ingest(file);
    const reason = 'unexpected error: Error: parser fault';
    expect(result).toMatchObject({ key: file.key, quarantined: true, fileRejected: reason });
    expect(result.counts).toMatchObject({ read: 0, rejected: 0 });
    const record = await findQuarantined(stack.clients.s3, bucket(), '2026-03-09', file.key);
    expect(record).toMatchObject({ source: file.key, stage: 'ingest', date: '2026-03-09', reason });
    await stack.clients.s3.send(new HeadObjectCommand({ Bucket: bucket(), Key: record?.copy }));

    // A rerun does not read it again: nothing new is counted, and the state succeeds.
    push.mockRestore();
    expect(await ingest(file)).toEqual({
      key: file.key,
      type: 'IB_Calls',
      counts: { read: 0, inserted: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 0 },
      fileRejected: reason,
      quarantined: true,
    });
    expect(await storedOf(file)).toEqual([]);

    // Released (the execution input `release`), the next run reads it whole.
    await releaseQuarantined(stack.clients.s3, bucket(), '2026-03-09', [file.key]);
    const again = await ingest(file);
    expect(again.quarantined).toBeUndefined();
    expect(again.counts).toMatchObject({ read: 5, inserted: 5 });
  });

  it('keeps the rows it stored before the failure, counts the rest it read as rejected, and a release completes it', async () => {
    // Enough rows for many chunks of text: the fault comes once rows have been written.
    const file = await putSource(stack, 'IB_Calls', ibExport('halfway', 3000), '2026-03-09T15:00:00Z');
    const push = CsvParser.prototype.push;
    let pushes = 0;
    vi.spyOn(CsvParser.prototype, 'push').mockImplementation(function (this: CsvParser, chunk) {
      if (++pushes === 4) throw new Error('parser fault');
      return push.call(this, chunk);
    });
    const result = await ingest(file);
    expect(result.quarantined).toBe(true);
    expect(result.fileRejected).toMatch(/^unexpected error after line \d+: Error: parser fault$/);
    const { read, inserted, rejected } = result.counts;
    expect(inserted).toBeGreaterThan(0);
    expect(read).toBeLessThan(3000);
    expect(rejected).toBe(read - inserted);
    expect(await storedOf(file)).toHaveLength(inserted);

    vi.restoreAllMocks();
    await releaseQuarantined(stack.clients.s3, bucket(), '2026-03-09', [file.key]);
    const again = await ingest(file);
    expect(again.counts).toMatchObject({ read: 3000, inserted: 3000 - inserted, unchanged: inserted, rejected: 0 });
    expect(await storedOf(file)).toHaveLength(3000);
  });

  it("fails the state on an AWS error that is the deployment's, not the file's (access denied)", async () => {
    const file = await putSource(stack, 'IB_Calls', ibExport('denied', 2), '2026-03-09T15:00:00Z');
    const denied = Object.assign(new Error('not authorized to perform: dynamodb:BatchGetItem'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    vi.spyOn(CsvParser.prototype, 'push').mockImplementation(() => {
      throw denied;
    });
    await expect(ingest(file)).rejects.toThrow('not authorized');
    expect(await findQuarantined(stack.clients.s3, bucket(), '2026-03-09', file.key)).toBeUndefined();
  });

  it('still fails the state on a transient error, so that Step Functions retries the file', async () => {
    const file = await putSource(stack, 'IB_Calls', ibExport('transient', 2), '2026-03-09T15:00:00Z');
    vi.spyOn(CsvParser.prototype, 'push').mockImplementation(() => {
      throw new TransientError('throttled');
    });
    await expect(ingest(file)).rejects.toThrow(TransientError);
    expect(await findQuarantined(stack.clients.s3, bucket(), '2026-03-09', file.key)).toBeUndefined();
  });
});
