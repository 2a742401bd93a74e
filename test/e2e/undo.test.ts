import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphMailSource } from '../../functions/collect/graph.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { RunInput } from '../../functions/common/contracts.ts';
import { excludedKey } from '../../functions/common/keys.ts';
import { PREFIX } from '../../functions/common/names.ts';
import { logger } from '../../functions/common/observability.ts';
import { startFakeGraph } from '../../local/graph-server.ts';
import type { ExecutionSummary } from '../../local/local-run.ts';
import { type PipelineOptions, type PipelineResult, runPipeline } from '../../local/pipeline.ts';
import { writeSampleMailbox } from '../../local/sample-day.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { rowItems } from './stored-rows.ts';

const config = loadConfigFile();
const date = '2026-03-09';
const now = () => Date.parse('2026-03-10T15:00:00Z');

interface Setup {
  stack: LocalStack;
  /** One execution; `withMail: false` collects nothing new, so only the raw files already stored are ingested. */
  run: (input: RunInput, withMail?: boolean, onEvent?: PipelineOptions['onEvent']) => Promise<PipelineResult>;
  stop: () => Promise<void>;
}

async function setUp(mailboxDir: string): Promise<Setup> {
  const stack = await startLocalStack(mkdtempSync(join(tmpdir(), 'charlie-undo-')));
  const graph = await startFakeGraph({ mailboxDir, user: config.mailbox.user, folderPath: config.mailbox.folder });
  const mail = createGraphMailSource({
    mailbox: { ...config.mailbox, graphBaseUrl: graph.graphBaseUrl, authorityHost: graph.authorityHost },
    credential: { clientSecret: 'local' },
  });
  return {
    stack,
    run: (input, withMail = true, onEvent = undefined) =>
      runPipeline({
        onEvent,
        config,
        stack,
        mail: withMail ? mail : undefined,
        input,
        now,
        links: { baseUrl: 'http://127.0.0.1:9/link/', signingKey: async () => 'k'.repeat(64) },
      }),
    stop: async () => {
      await graph.stop();
      await stack.stop();
    },
  };
}

/** Every stored row (without the time it was written), and the source file of each. */
async function storedRows(stack: LocalStack): Promise<{ rows: string[]; sources: string[] }> {
  const items = await rowItems(stack);
  return {
    rows: items.map((item) => JSON.stringify(item, Object.keys(item).sort())).sort(),
    sources: items.map((item) => (item.source as { key: string }).key),
  };
}

/**
 * Deletes the stored rows behind ingest's back, and so the day's row digest snapshots too: they
 * would still list the rows, and a snapshot may always be deleted (it is rebuilt from the table).
 */
async function deleteRows(stack: LocalStack): Promise<void> {
  const snapshots = await stack.clients.s3.send(
    new ListObjectsV2Command({ Bucket: stack.resources.dataBucket, Prefix: `${PREFIX.digests}${date}/` }),
  );
  for (const object of snapshots.Contents ?? []) {
    await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: stack.resources.dataBucket, Key: object.Key }));
  }
  let start: Record<string, unknown> | undefined;
  do {
    const page = await stack.clients.dynamodb.send(
      new ScanCommand({ TableName: stack.resources.table, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      if (!String(item.pk).startsWith('ROW#')) continue;
      await stack.clients.dynamodb.send(
        new DeleteCommand({ TableName: stack.resources.table, Key: { pk: item.pk, sk: item.sk } }),
      );
    }
    start = page.LastEvaluatedKey;
  } while (start);
}

async function dataTabs(stack: LocalStack, summary: ExecutionSummary): Promise<string[][]> {
  const object = await stack.clients.s3.send(
    new GetObjectCommand({ Bucket: summary.workbook.bucket, Key: summary.workbook.key }),
  );
  const workbook = new ExcelJS.Workbook();
  const bytes = await (object.Body?.transformToByteArray() ?? new Uint8Array());
  await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  // The export tabs: the Summary and the Problems tab tell of the run, not of the day's rows.
  return workbook.worksheets
    .filter((sheet) => sheet.name !== 'Summary' && sheet.name !== 'Problems')
    .map((sheet) => sheet.getSheetValues().map((row) => JSON.stringify(row)));
}

async function rawKeys(stack: LocalStack): Promise<string[]> {
  const listed = await stack.clients.s3.send(
    new ListObjectsV2Command({ Bucket: stack.resources.dataBucket, Prefix: `raw/${date}/` }),
  );
  return (listed.Contents ?? []).map((object) => object.Key as string);
}

describe('undoing a bad file', () => {
  const mailboxDir = mkdtempSync(join(tmpdir(), 'charlie-undo-mail-'));
  let undone: Setup;
  let without: Setup;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    await writeSampleMailbox({ config, date, dir: mailboxDir });
    [undone, without] = await Promise.all([setUp(mailboxDir), setUp(mailboxDir)]);
  });
  afterAll(async () => {
    await undone?.stop();
    await without?.stop();
  });

  it('ends with the table and workbook of a day that never had the file', { timeout: 240_000 }, async () => {
    const first = await undone.run({ date });
    expect(first.succeeded).toBe(true);

    // The file that is the stored version of the most rows, of a type with earlier files to fall back on.
    const before = await storedRows(undone.stack);
    const perSource = new Map<string, number>();
    for (const source of before.sources) perSource.set(source, (perSource.get(source) ?? 0) + 1);
    const keys = await rawKeys(undone.stack);
    const typeOf = (key: string) => key.split('/')[2];
    const [bad, badRows] = [...perSource]
      .filter(([key]) => keys.filter((k) => typeOf(k) === typeOf(key)).length > 1)
      .sort((a, b) => b[1] - a[1])[0] as [string, number];

    const undo = await undone.run({ undo: [bad] });
    expect(undo.succeeded, JSON.stringify(undo.error)).toBe(true);
    const summary = undo.output as ExecutionSummary;
    expect(summary.date).toBe(date);
    expect(summary.undone).toEqual({
      files: 1,
      read: expect.any(Number),
      removed: badRows,
      listed: [expect.objectContaining({ key: bad, removed: badRows })],
    });
    // The day's report was already sent: the rebuilt workbook is not mailed again unless forced.
    expect(summary.delivery.sent).toBe(false);

    // The same day stored from every file but the bad one.
    expect((await without.run({ date })).succeeded).toBe(true);
    await without.stack.clients.s3.send(
      new DeleteObjectCommand({ Bucket: without.stack.resources.dataBucket, Key: bad }),
    );
    await deleteRows(without.stack);
    const reference = await without.run({ date, force: true }, false);
    expect(reference.succeeded).toBe(true);

    const after = await storedRows(undone.stack);
    expect(after.sources).not.toContain(bad);
    expect(after.rows).toEqual((await storedRows(without.stack)).rows);
    expect(await dataTabs(undone.stack, summary)).toEqual(
      await dataTabs(without.stack, reference.output as ExecutionSummary),
    );

    // A later scheduled run fetches the same mail again; the file stays out.
    const later = await undone.run({ date });
    expect(later.succeeded).toBe(true);
    expect((later.output as ExecutionSummary).undone).toMatchObject({
      files: 1,
      removed: 0,
      listed: [expect.objectContaining({ key: bad, removed: 0 })],
    });
    expect((await storedRows(undone.stack)).rows).toEqual(after.rows);
    const mark = await undone.stack.clients.s3.send(
      new GetObjectCommand({ Bucket: undone.stack.resources.dataBucket, Key: excludedKey(bad) }),
    );
    expect(JSON.parse(await (mark.Body?.transformToString() ?? '{}'))).toMatchObject({ key: bad });
  });

  it('fails before changing anything when the source is not a file of the day', { timeout: 60_000 }, async () => {
    const missing = `raw/${date}/Dials/${'0'.repeat(64)}.csv`;
    const rowsBefore = (await storedRows(undone.stack)).rows;
    const causes: string[] = [];
    const result = await undone.run({ undo: [missing] }, true, (event) => {
      if (event.type === 'StateFailed') causes.push(String(event.Cause));
    });
    expect(result.succeeded).toBe(false);
    expect(causes.join('\n')).toMatch(/no raw file of 2026-03-09 \(.*\) is "raw\/2026-03-09\/Dials\/0+\.csv"/);
    expect((await storedRows(undone.stack)).rows).toEqual(rowsBefore);
  });
});
