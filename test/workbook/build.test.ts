import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailSummary } from '../../functions/collect/manifest.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import {
  type BuildInput,
  emptyCollectSummary,
  type IngestResult,
  type RemoveResult,
  type RowCounts,
  type Run,
  type SourceFile,
} from '../../functions/common/contracts.ts';
import { reportKey, rowPartition, rowSortKey } from '../../functions/common/keys.ts';
import type { CellValue, StoredRow } from '../../functions/common/rows.ts';
import { writeManifest, writeRunResult } from '../../functions/common/run-records.ts';
import { buildReport } from '../../functions/workbook/build.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';

const config = loadConfigFile();
const DAY = '2026-03-09';
const NEXT_DAY = '2026-03-10';
const BIG_DAY = '2026-03-11';

let stack: LocalStack;
let stackDir: string;
/** The build's temporary files go here, so the test can see that none are left behind. */
let buildTmp: string;
const originalTmp = process.env.TMPDIR;

/** A row as ingest stores it: the sort key leads with the UTC instant of the date column. */
function storedRow(
  type: string,
  date: string,
  shard: number,
  id: string,
  values: Record<string, CellValue>,
  exportedAt: string,
): StoredRow {
  const dateColumn = config.exports.find((spec) => spec.type === type)?.dateColumn ?? '';
  return {
    pk: rowPartition(date, type, shard),
    sk: rowSortKey(new Date(String(values[dateColumn])).toISOString(), id),
    type,
    date,
    values,
    complete: true,
    exportedAt,
    digest: id,
    source: {
      key: `raw/${date}/${type}/${id}.csv`,
      messageId: `<${id}@example.com>`,
      receivedAt: exportedAt,
      exportedAt,
      attachmentName: `${type}.csv`,
    },
    ingestedAt: exportedAt,
    expiresAt: Date.parse(`${date}T00:00:00Z`) / 1000 + 400 * 86_400,
  };
}

function ibCall(date: string, hour: number, agent: string, handle: number, filters = 'Queue: Inbound') {
  const h = String(hour).padStart(2, '0');
  return {
    'Interval Start': `${date}T${h}:00:00-05:00`,
    'Interval End': `${date}T${String(hour + 1).padStart(2, '0')}:00:00-05:00`,
    'Interval Complete': true,
    Filters: filters,
    'Media Type': 'voice',
    'Agent Id': `id-${agent}`,
    'Agent Name': agent,
    Handle: handle,
    'Avg Handle': 60_000 * handle,
  };
}

async function putRows(rows: StoredRow[]) {
  for (let i = 0; i < rows.length; i += 25) {
    const batch = rows.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    await stack.clients.dynamodb.send(new BatchWriteCommand({ RequestItems: { [stack.resources.table]: batch } }));
  }
}

function counts(partial: Partial<RowCounts>): RowCounts {
  return { read: 0, inserted: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 0, ...partial };
}

/** Each build is its own execution, with its own results. */
let executions = 0;

function run(date: string, intradayTime?: string): Run {
  executions++;
  return {
    date,
    reports: config.exports.map((e) => e.type),
    force: false,
    deliver: true,
    executionId: `arn:aws:states:us-east-1:000000000000:execution:charlie:build-${date}-${executions}`,
    window: { start: `${date}T05:00:00.000Z`, end: `${date}T07:00:00.000Z` },
    ...(intradayTime ? { intradayTime } : {}),
  };
}

function sourceFile(result: { key: string; type: string }): SourceFile {
  return {
    bucket: stack.resources.dataBucket,
    key: result.key,
    type: result.type,
    sha256: '0'.repeat(64),
    bytes: 1,
    exportedAt: `${DAY}T12:00:00.000Z`,
    receivedAt: `${DAY}T12:00:00.000Z`,
    messageId: `<${result.key}@example.com>`,
    attachmentName: result.key,
    origin: 'graph',
  };
}

/** The run's manifest and results in S3, as collect and the ingests leave them for build. */
async function buildInput(
  date: string,
  ingested: IngestResult[] = [],
  intradayTime?: string,
  removed: RemoveResult[] = [],
): Promise<BuildInput> {
  const theRun = run(date, intradayTime);
  const manifest = await writeManifest(stack.clients.s3, stack.resources.dataBucket, {
    executionId: theRun.executionId,
    date,
    files: ingested.map(sourceFile),
    undone: removed.map(sourceFile),
    ignored: [],
  });
  const { s3 } = stack.clients;
  for (const [i, result] of ingested.entries())
    await writeRunResult(s3, manifest.bucket, theRun, 'ingested', i, result);
  for (const [i, result] of removed.entries()) await writeRunResult(s3, manifest.bucket, theRun, 'removed', i, result);
  return { run: theRun, manifest, mail: mailSummary(emptyCollectSummary()) };
}

async function downloadWorkbook(key: string): Promise<{ book: ExcelJS.Workbook; bytes: number; contentType?: string }> {
  const object = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.reportsBucket, Key: key }));
  const body = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(body as unknown as ArrayBuffer);
  return { book, bytes: body.length, ...(object.ContentType ? { contentType: object.ContentType } : {}) };
}

function column(book: ExcelJS.Workbook, tab: string, letter: string): unknown[] {
  const sheet = book.getWorksheet(tab);
  if (!sheet) throw new Error(`no tab ${tab}`);
  const values: unknown[] = [];
  for (let r = 2; r <= sheet.rowCount; r++) values.push(sheet.getCell(`${letter}${r}`).value);
  return values;
}

/** The Summary's row of an export type: [type, tab, rows, ...]. */
function summaryRow(book: ExcelJS.Workbook, type: string): unknown[] {
  const summary = book.getWorksheet('Summary');
  if (!summary) throw new Error('no Summary');
  for (let r = 1; r <= summary.rowCount; r++) {
    const values = (summary.getRow(r).values as unknown[]).slice(1);
    if (values[0] === type && typeof values[2] === 'number') return values;
  }
  throw new Error(`no Summary row for ${type}`);
}

const deps = () => ({
  config,
  s3: stack.clients.s3,
  dynamodb: stack.clients.dynamodb,
  resources: stack.resources,
  now: () => new Date('2026-03-10T11:00:00Z'),
});

/** 24 IB_Calls rows of the day: four agents an hour from 08:00 to 13:00, spread over all eight shards. */
const agents = ['Zed Zimmer', 'bob Brown', 'Émile Élan', 'Anna Adams'];

beforeAll(async () => {
  stackDir = await mkdtemp(join(tmpdir(), 'charlie-build-stack-'));
  buildTmp = await mkdtemp(join(tmpdir(), 'charlie-build-tmp-'));
  stack = await startLocalStack(stackDir);
  process.env.TMPDIR = buildTmp;

  const rows: StoredRow[] = [];
  for (let i = 0; i < 24; i++) {
    const exportedAt = i < 12 ? '2026-03-09T18:00:00.000Z' : '2026-03-09T23:00:00.000Z';
    const agent = agents[i % 4] as string;
    rows.push(
      storedRow('IB_Calls', DAY, (i * 3) % 8, `ib-${i}`, ibCall(DAY, 8 + Math.floor(i / 4), agent, i), exportedAt),
    );
  }
  // The next day's rows are in the same shards and must stay out of the day's workbook.
  for (let i = 0; i < 8; i++) {
    rows.push(
      storedRow(
        'IB_Calls',
        NEXT_DAY,
        i,
        `ib-next-${i}`,
        ibCall(NEXT_DAY, 9, `Tomorrow ${i}`, 1),
        '2026-03-11T01:00:00.000Z',
      ),
    );
  }
  rows.push(
    storedRow(
      'Campaign_Interactions',
      DAY,
      5,
      'ci-1',
      {
        'Full Export Completed': 'YES',
        'Partial Result Timestamp': null,
        Filters: '',
        Users: 'Carol Chen',
        Date: `${DAY}T10:15:00-05:00`,
        'Initial Direction': 'Outbound',
        'First Queue': 'Campaign A',
      },
      '2026-03-09T20:00:00.000Z',
    ),
  );
  await putRows(rows);
});

afterAll(async () => {
  if (originalTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = originalTmp;
  await stack.stop();
  await rm(stackDir, { recursive: true, force: true });
  await rm(buildTmp, { recursive: true, force: true });
});

describe('buildReport', () => {
  it("writes the day's rows from every shard, and only that day's, by interval then agent, to the reports bucket", async () => {
    const ingested: IngestResult[] = [
      { key: 'raw/a.csv', type: 'IB_Calls', counts: counts({ read: 14, inserted: 12, rejected: 2 }) },
      { key: 'raw/b.csv', type: 'IB_Calls', counts: counts({ read: 12, inserted: 12 }) },
      { key: 'raw/c.csv', type: 'QCBS', counts: counts({ read: 3, rejected: 3 }) },
    ];
    const result = await buildReport(await buildInput(DAY, ingested), deps());

    expect(result.workbook.bucket).toBe(stack.resources.reportsBucket);
    expect(result.workbook.key).toBe(reportKey(DAY));
    expect(result.workbook.key).toBe('reports/2026-03-09/Charlie-Intraday-2026-03-09.xlsx');
    const { book, bytes, contentType } = await downloadWorkbook(result.workbook.key);
    expect(result.workbook.bytes).toBe(bytes);
    expect(contentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');

    // Each hour's four agents, in collation order whatever their shards: Anna, bob, Émile, Zed.
    const expected = Array.from({ length: 6 }, () => ['Anna Adams', 'bob Brown', 'Émile Élan', 'Zed Zimmer']).flat();
    expect(column(book, 'IB Calls', 'A')).toEqual(expected);
    expect(column(book, 'IB Calls', 'B').reduce((sum: number, v) => sum + Number(v), 0)).toBe((23 * 24) / 2);
    expect(column(book, 'Campaign Interactions', 'D')).toEqual(['Carol Chen']);
    expect(book.getWorksheet('QCBS')?.rowCount).toBe(1);

    const ib = result.types.find((t) => t.type === 'IB_Calls');
    expect(ib).toEqual({
      type: 'IB_Calls',
      tab: 'IB Calls',
      rows: 24,
      lastExportAt: '2026-03-09T23:00:00.000Z',
      ingest: counts({ read: 26, inserted: 24, rejected: 2 }),
      files: 2,
    });
    expect(result.types.find((t) => t.type === 'QCBS')).toEqual({
      type: 'QCBS',
      tab: 'QCBS',
      rows: 0,
      ingest: counts({ read: 3, rejected: 3 }),
      files: 1,
    });
    expect(result.types.map((t) => t.type)).toEqual(config.exports.map((e) => e.type));
    expect(result.totals).toEqual(counts({ read: 29, inserted: 24, rejected: 5 }));
    expect(result.missing).toEqual(['QCBS', 'Dials', 'Productivity', 'ACQ', 'RESC']);
    // Campaign Interactions' last data (20:00Z) is 3 hours older than IB Calls' (23:00Z).
    expect(result.late).toEqual(['Campaign_Interactions']);

    // Hour 09:00 holds rows 4 to 7 of IB Calls: Handle 4 + 5 + 6 + 7.
    expect(result.hourly?.[9]?.volumes.IB_Calls).toBe(22);
    expect(result.hourly?.[10]?.volumes.Campaign_Interactions).toBe(1);
    // Row i handled i calls of i minutes each: Σi² / Σi = 4324 / 276 minutes.
    expect(result.kpis).toMatchObject({ callsHandled: 276, avgHandleMs: 940_000, agents: 4 });
    // Execution history is no place for agent names.
    const state = JSON.stringify(result);
    for (const name of [...agents, 'Carol']) expect(state).not.toContain(name.split(' ')[0]);

    expect(book.worksheets[0]?.name).toBe('Summary');
    expect(summaryRow(book, 'IB_Calls').slice(0, 3)).toEqual(['IB_Calls', 'IB Calls', 24]);
    expect(await readdir(buildTmp)).toEqual([]);
  });

  it('reads every page of a shard', async () => {
    // About 1.9 MB in one partition: DynamoDB returns at most 1 MB per page.
    const filters = `Queue: ${'x'.repeat(700)}`;
    const rows = Array.from({ length: 2500 }, (_, i) =>
      storedRow(
        'QCBS',
        BIG_DAY,
        3,
        `q-${String(i).padStart(5, '0')}`,
        ibCall(BIG_DAY, 8 + (i % 10), `Agent ${i}`, 1, filters),
        `2026-03-11T1${i % 10}:00:00.000Z`,
      ),
    );
    await putRows(rows);
    const firstPage = await stack.clients.dynamodb.send(
      new QueryCommand({
        TableName: stack.resources.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': rowPartition(BIG_DAY, 'QCBS', 3) },
      }),
    );
    expect(firstPage.LastEvaluatedKey).toBeDefined();

    const result = await buildReport(await buildInput(BIG_DAY), deps());
    expect(result.types.find((t) => t.type === 'QCBS')).toMatchObject({
      rows: 2500,
      lastExportAt: '2026-03-11T19:00:00.000Z',
    });
    const { book } = await downloadWorkbook(result.workbook.key);
    expect(new Set(column(book, 'QCBS', 'A')).size).toBe(2500);
  });

  it('names an intraday run’s workbook with its time, beside the daily one', async () => {
    const result = await buildReport(await buildInput(DAY, [], '1400'), deps());
    expect(result.workbook.key).toBe('reports/2026-03-09/Charlie-Intraday-2026-03-09-1400.xlsx');
    expect(result.workbook.key).toBe(reportKey(DAY, '1400'));
    const { book } = await downloadWorkbook(result.workbook.key);
    expect(book.getWorksheet('Summary')?.getCell('A1').value).toBe(
      'Charlie intraday report — Monday, 9 March 2026, 14:00',
    );
    expect(column(book, 'IB Calls', 'A')).toHaveLength(24);
  });

  it('agrees with itself when rows of the day arrive while the workbook is written', async () => {
    const date = '2026-03-12';
    await putRows([storedRow('ACQ', date, 0, 'acq-1', ibCall(date, 8, 'First', 1), '2026-03-12T14:00:00.000Z')]);
    const table = stack.clients.dynamodb;
    let late = false;
    // A concurrent ingest: rows land while IB Calls (read before ACQ and RESC) is being read.
    const dynamodb = {
      async send(command: QueryCommand) {
        if (!late && String(command.input.ExpressionAttributeValues?.[':pk']).includes('#IB_Calls#')) {
          late = true;
          await putRows([
            storedRow('ACQ', date, 1, 'acq-2', ibCall(date, 9, 'Second', 2), '2026-03-12T15:00:00.000Z'),
            storedRow('RESC', date, 2, 'resc-1', ibCall(date, 9, 'Third', 3), '2026-03-12T15:00:00.000Z'),
          ]);
        }
        return table.send(command);
      },
    } as unknown as DynamoDBDocumentClient;

    const result = await buildReport(await buildInput(date), { ...deps(), dynamodb });
    expect(late).toBe(true);
    const { book } = await downloadWorkbook(result.workbook.key);
    expect(column(book, 'ACQ', 'A')).toEqual(['First', 'Second']);
    expect(column(book, 'RESC', 'A')).toEqual(['Third']);
    // The Summary counts what the tabs hold.
    for (const type of ['ACQ', 'RESC']) {
      const rows = result.types.find((t) => t.type === type)?.rows;
      expect(summaryRow(book, type)[2]).toBe(rows);
    }
    expect(result.types.find((t) => t.type === 'ACQ')?.rows).toBe(2);
    expect(result.missing).not.toContain('RESC');
  });

  it('continues a type past a tab’s rows on the next tab, and cuts a stored cell over Excel’s limit', async () => {
    const date = '2026-03-13';
    // Twelve rows, one of them stored with a name longer than a cell holds (before ingest refused such values).
    const long = `Long ${'n'.repeat(39_995)}`;
    await putRows(
      Array.from({ length: 12 }, (_, i) =>
        storedRow(
          'IB_Calls',
          date,
          i % 8,
          `split-${i}`,
          ibCall(date, 8 + Math.floor(i / 4), i === 5 ? long : `Agent ${i % 4}`, 1),
          '2026-03-13T18:00:00.000Z',
        ),
      ),
    );
    const result = await buildReport(await buildInput(date), { ...deps(), workbook: { maxRowsPerTab: 10 } });
    const { book } = await downloadWorkbook(result.workbook.key);
    expect(book.worksheets.map((w) => w.name).slice(0, 4)).toEqual(['Summary', 'IB Calls', 'IB Calls (2)', 'QCBS']);
    const names = [...column(book, 'IB Calls', 'A'), ...column(book, 'IB Calls (2)', 'A')].map(String);
    // By interval, then agent: the long name sorts last in its hour.
    const hour = ['Agent 0', 'Agent 1', 'Agent 2', 'Agent 3'];
    expect(names.map((name) => name.slice(0, 7))).toEqual([
      ...hour,
      'Agent 0',
      'Agent 2',
      'Agent 3',
      'Long nn',
      ...hour,
    ]);
    expect(column(book, 'IB Calls (2)', 'A')).toHaveLength(3);
    const cut = names[7] ?? '';
    expect(cut).toHaveLength(32_767);
    expect(cut.endsWith('n… [cut from 40,000 characters]')).toBe(true);
    expect(result.types.find((t) => t.type === 'IB_Calls')?.rows).toBe(12);
    expect(summaryRow(book, 'IB_Calls').slice(0, 3)).toEqual(['IB_Calls', 'IB Calls, continues on IB Calls (2)', 12]);
  });

  /** The Summary's hour rows, label and IB Calls volume, and its Total row's IB Calls volume. */
  function hourRows(book: ExcelJS.Workbook): { hours: [string, number][]; total: number } {
    const summary = book.getWorksheet('Summary');
    if (!summary) throw new Error('no Summary');
    let r = 1;
    while (summary.getRow(r).getCell(1).value !== 'Hour') r++;
    const hours: [string, number][] = [];
    for (r++; summary.getRow(r).getCell(1).value !== 'Total'; r++) {
      hours.push([String(summary.getRow(r).getCell(1).value), Number(summary.getRow(r).getCell(2).value)]);
    }
    return { hours, total: Number(summary.getRow(r).getCell(2).value) };
  }

  /** An IB Calls interval as ingest stores it: local times with the offset in force. */
  function ibInterval(start: string, end: string, agent: string, handle: number) {
    return { ...ibCall(start.slice(0, 10), 0, agent, handle), 'Interval Start': start, 'Interval End': end };
  }

  it('shows the day the clocks go back as 25 hours, the repeated 01:00 as two rows, CDT then CST', async () => {
    const date = '2026-11-01';
    const exportedAt = '2026-11-02T06:00:00.000Z';
    await putRows(
      [
        ibInterval('2026-11-01T00:00:00-05:00', '2026-11-01T01:00:00-05:00', 'Ann', 4),
        ibInterval('2026-11-01T01:00:00-05:00', '2026-11-01T01:00:00-06:00', 'Ann', 3),
        ibInterval('2026-11-01T01:00:00-05:00', '2026-11-01T01:00:00-06:00', 'Ben', 1),
        ibInterval('2026-11-01T01:00:00-06:00', '2026-11-01T02:00:00-06:00', 'Ann', 5),
        ibInterval('2026-11-01T02:00:00-06:00', '2026-11-01T03:00:00-06:00', 'Ann', 2),
      ].map((values, i) => storedRow('IB_Calls', date, i % 8, `fall-${i}`, values, exportedAt)),
    );
    const result = await buildReport(await buildInput(date), deps());
    expect(result.hourly).toHaveLength(25);
    expect(
      result.hourly?.slice(0, 4).map(({ hour, zone, volumes }) => ({ hour, zone, calls: volumes.IB_Calls })),
    ).toEqual([
      { hour: 0, zone: undefined, calls: 4 },
      { hour: 1, zone: 'CDT', calls: 4 },
      { hour: 1, zone: 'CST', calls: 5 },
      { hour: 2, zone: undefined, calls: 2 },
    ]);
    const { book } = await downloadWorkbook(result.workbook.key);
    const { hours, total } = hourRows(book);
    expect(hours).toHaveLength(25);
    expect(hours.slice(0, 5)).toEqual([
      ['00:00–01:00', 4],
      ['01:00–02:00 CDT', 4],
      ['01:00–02:00 CST', 5],
      ['02:00–03:00', 2],
      ['03:00–04:00', 0],
    ]);
    expect(hours[24]?.[0]).toBe('23:00–24:00');
    expect(total).toBe(15);
  });

  it('shows the day the clocks go forward as 23 hours, without 02:00', async () => {
    const date = '2026-03-08';
    const exportedAt = '2026-03-09T06:00:00.000Z';
    await putRows(
      [
        ibInterval('2026-03-08T01:00:00-06:00', '2026-03-08T03:00:00-05:00', 'Ann', 4),
        ibInterval('2026-03-08T03:00:00-05:00', '2026-03-08T04:00:00-05:00', 'Ann', 6),
      ].map((values, i) => storedRow('IB_Calls', date, i, `spring-${i}`, values, exportedAt)),
    );
    const result = await buildReport(await buildInput(date), deps());
    expect(result.hourly?.map((h) => h.hour)).toEqual([0, 1, ...Array.from({ length: 21 }, (_, i) => i + 3)]);
    expect(result.hourly?.some((h) => h.zone !== undefined)).toBe(false);
    const { book } = await downloadWorkbook(result.workbook.key);
    const { hours, total } = hourRows(book);
    expect(hours).toHaveLength(23);
    expect(hours.slice(0, 4)).toEqual([
      ['00:00–01:00', 0],
      ['01:00–03:00', 4],
      ['03:00–04:00', 6],
      ['04:00–05:00', 0],
    ]);
    expect(total).toBe(10);
  });

  it("reads the run's results from S3: files ingested, undone files summed and listed", async () => {
    const ingested: IngestResult[] = [{ key: 'raw/d.csv', type: 'Dials', counts: counts({ read: 2, unchanged: 2 }) }];
    const removed: RemoveResult[] = Array.from({ length: 12 }, (_, i) => ({
      key: `raw/undone-${i}.csv`,
      type: 'IB_Calls',
      read: 3,
      removed: i % 2,
    }));
    const result = await buildReport(await buildInput(NEXT_DAY, ingested, undefined, removed), deps());
    expect(result.files).toBe(1);
    expect(result.undone).toEqual({ files: 12, read: 36, removed: 6, listed: removed.slice(0, 10) });
    expect(result.types.find((t) => t.type === 'Dials')?.ingest).toEqual(counts({ read: 2, unchanged: 2 }));
  });

  it('refuses to build from an incomplete run: a file of the manifest without its result', async () => {
    const input = await buildInput(NEXT_DAY, [{ key: 'raw/e.csv', type: 'ACQ', counts: counts({ read: 1 }) }]);
    await writeManifest(stack.clients.s3, input.manifest.bucket, {
      executionId: input.run.executionId,
      date: NEXT_DAY,
      files: [sourceFile({ key: 'raw/e.csv', type: 'ACQ' }), sourceFile({ key: 'raw/f.csv', type: 'ACQ' })],
      undone: [],
      ignored: [],
    });
    await expect(buildReport(input, deps())).rejects.toThrow(/incomplete: 1 of 2 files ingested/);
  });

  it('fails when DynamoDB cannot be read, and leaves no file behind', async () => {
    const dynamodb = {
      async send() {
        throw Object.assign(new Error('User is not authorized to perform dynamodb:Query'), {
          name: 'AccessDeniedException',
        });
      },
    } as unknown as DynamoDBDocumentClient;
    await expect(buildReport(await buildInput(DAY), { ...deps(), dynamodb })).rejects.toThrow('not authorized');
    expect(await readdir(buildTmp)).toEqual([]);
  });
});
