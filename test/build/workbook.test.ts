import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnNumber, type RowValues, writeWorkbook } from '../../functions/build/workbook.ts';
import { type Config, loadConfigFile, parseConfig } from '../../functions/shared/config.ts';
import { emptyCounts, type TypeSummary } from '../../functions/shared/contracts.ts';

const shipped = loadConfigFile();
// IB Calls shows every kind of cell here: text, datetime, count, duration and flag.
const config: Config = parseConfig({
  ...shipped,
  exports: shipped.exports.map((spec) =>
    spec.type === 'IB_Calls'
      ? { ...spec, operatorColumns: ['Agent Name', 'Interval Start', 'Handle', 'Avg Handle', 'Interval Complete'] }
      : spec,
  ),
});

function ibCall(start: string, agent: string | null, handle: number, avgHandleMs: number | null): RowValues {
  return {
    'Interval Start': start,
    'Interval End': start.replace(/T(\d\d)/, (_, h: string) => `T${String(Number(h) + 1).padStart(2, '0')}`),
    'Interval Complete': true,
    Filters: 'Queue: Inbound',
    'Media Type': 'voice',
    'Agent Id': `id-${agent}`,
    'Agent Name': agent,
    Handle: handle,
    'Avg Handle': avgHandleMs,
  };
}

// Deliberately out of order: the tab sorts by interval start, then agent name.
const ibCalls: RowValues[] = [
  ibCall('2026-03-09T09:00:00-05:00', 'Bob Brown', 4, 90_000),
  ibCall('2026-03-09T08:00:00-05:00', 'Zed Zimmer', 2, 3_723_000),
  ibCall('2026-03-09T08:00:00-05:00', 'alice Adams', 7, null),
  ibCall('2026-03-09T08:00:00-05:00', 'Bob Brown', 1, 60_000),
];

const campaignInteractions: RowValues[] = [
  {
    'Full Export Completed': 'YES',
    'Partial Result Timestamp': null,
    Filters: '',
    Users: 'Carol Chen',
    Date: '2026-03-09T10:15:00-05:00',
    'Initial Direction': 'Outbound',
    'First Queue': 'Campaign A',
  },
];

const rowsByType: Record<string, RowValues[]> = { IB_Calls: ibCalls, Campaign_Interactions: campaignInteractions };

function typeSummary(type: string, tab: string, rows: number): TypeSummary {
  return {
    type,
    tab,
    rows,
    ...(rows > 0 ? { lastExportAt: '2026-03-09T15:00:00.000Z' } : {}),
    ingest: { ...emptyCounts(), read: rows + 1, inserted: rows, rejected: 1 },
    files: rows > 0 ? 2 : 0,
  };
}

describe('writeWorkbook', () => {
  let dir: string;
  let book: ExcelJS.Workbook;
  let written: Record<string, number>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlie-workbook-'));
    const path = join(dir, 'report.xlsx');
    const types = config.exports.map((spec) => typeSummary(spec.type, spec.tab, rowsByType[spec.type]?.length ?? 0));
    written = await writeWorkbook(
      config,
      {
        date: '2026-03-09',
        executionId: 'arn:aws:states:us-east-1:000000000000:execution:charlie:run-1',
        generatedAt: new Date('2026-03-10T12:00:05Z'),
        types,
        missing: types.filter((t) => t.rows === 0).map((t) => t.type),
      },
      async function* (spec) {
        yield* rowsByType[spec.type] ?? [];
      },
      path,
    );
    book = new ExcelJS.Workbook();
    await book.xlsx.readFile(path);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const sheet = (name: string) => {
    const found = book.getWorksheet(name);
    if (!found) throw new Error(`no tab ${name}`);
    return found;
  };

  it('has the Summary tab first, then one tab per export type in config order', () => {
    expect(book.worksheets.map((w) => w.name)).toEqual([
      'Summary',
      'IB Calls',
      'QCBS',
      'Dials',
      'Productivity',
      'Campaign Interactions',
      'ACQ',
      'RESC',
    ]);
    expect(written).toEqual({
      IB_Calls: 4,
      QCBS: 0,
      Dials: 0,
      Productivity: 0,
      Campaign_Interactions: 1,
      ACQ: 0,
      RESC: 0,
    });
  });

  it('puts the operator columns in a bold, frozen, filtered header row from column A', () => {
    const tab = sheet('IB Calls');
    expect(tab.getRow(1).values).toEqual([
      undefined,
      'Agent Name',
      'Interval Start',
      'Handle',
      'Avg Handle',
      'Interval Complete',
    ]);
    expect(tab.getCell('A1').font?.bold).toBe(true);
    expect(tab.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(tab.autoFilter).toBe('A1:E5');
    expect(tab.getColumn(1).width).toBeGreaterThanOrEqual('Agent Name'.length);
    expect(tab.getColumn(2).width).toBeGreaterThanOrEqual(19);
  });

  it('starts the Campaign Interactions tab at column D', () => {
    expect(columnNumber('D')).toBe(4);
    const tab = sheet('Campaign Interactions');
    for (const address of ['A1', 'B1', 'C1', 'A2', 'B2', 'C2']) expect(tab.getCell(address).value).toBeNull();
    expect(['D1', 'E1', 'F1', 'G1'].map((a) => tab.getCell(a).value)).toEqual([
      'Users',
      'Date',
      'Initial Direction',
      'First Queue',
    ]);
    expect(tab.getCell('D2').value).toBe('Carol Chen');
    expect((tab.getCell('E2').value as Date).toISOString()).toBe('2026-03-09T10:15:00.000Z');
    expect(tab.autoFilter).toBe('D1:G2');
  });

  it('sorts rows by the date column, then agent name', () => {
    const tab = sheet('IB Calls');
    const agents = [2, 3, 4, 5].map((r) => tab.getCell(`A${r}`).value);
    expect(agents).toEqual(['alice Adams', 'Bob Brown', 'Zed Zimmer', 'Bob Brown']);
    expect(tab.rowCount).toBe(5);
  });

  it('writes typed cells: local wall time dates, durations, counts, flags and empty cells', () => {
    const tab = sheet('IB Calls');
    const start = tab.getCell('B2');
    expect(start.value).toBeInstanceOf(Date);
    // 08:00 in Chicago stays 08:00 in the sheet: the serial holds the wall time.
    expect((start.value as Date).toISOString()).toBe('2026-03-09T08:00:00.000Z');
    expect(start.numFmt).toBe('yyyy-mm-dd hh:mm:ss');

    const handle = tab.getCell('C4');
    expect(handle.value).toBe(2);
    expect(handle.type).toBe(ExcelJS.ValueType.Number);

    const avgHandle = tab.getCell('D4');
    expect(avgHandle.numFmt).toBe('[h]:mm:ss');
    // exceljs reads a cell with a time format back as a Date; the serial is the fraction of a day.
    const serial = (avgHandle.value as Date).getTime() / 86_400_000 + 25_569;
    expect(serial).toBeCloseTo(3_723_000 / 86_400_000, 9);

    expect(tab.getCell('E2').value).toBe(true);
    // alice's Avg Handle is null in storage: an empty cell, not 0.
    expect(tab.getCell('D2').value).toBeNull();
  });

  it('summarises the run and flags the missing exports', () => {
    const summary = sheet('Summary');
    expect(summary.getCell('A1').value).toBe('Date');
    expect(summary.getCell('B1').value).toBe('2026-03-09');
    // Generated at 12:00:05Z is 07:00:05 in Chicago (CDT).
    expect((summary.getCell('B2').value as Date).toISOString()).toBe('2026-03-10T07:00:05.000Z');
    expect(summary.getCell('B3').value).toBe('arn:aws:states:us-east-1:000000000000:execution:charlie:run-1');
    expect(summary.getCell('B4').value).toBe('QCBS, Dials, Productivity, ACQ, RESC');

    const header = summary.getRow(6).values as unknown[];
    expect(header.slice(1)).toEqual([
      'Export type',
      'Tab',
      'Rows in workbook',
      'Last export at',
      'Files',
      'Read',
      'Inserted',
      'Updated',
      'Unchanged',
      'Stale',
      'Rejected',
      'Blank',
      'Status',
    ]);
    const byType = new Map<string, unknown[]>();
    for (let r = 7; r <= 13; r++) {
      const values = (summary.getRow(r).values as unknown[]).slice(1);
      byType.set(String(values[0]), values);
    }
    expect([...byType.keys()]).toEqual(config.exports.map((e) => e.type));
    const ib = byType.get('IB_Calls') ?? [];
    expect(ib.slice(0, 3)).toEqual(['IB_Calls', 'IB Calls', 4]);
    expect((ib[3] as Date).toISOString()).toBe('2026-03-09T10:00:00.000Z');
    expect(ib.slice(4)).toEqual([2, 5, 4, 0, 0, 0, 1, 0, 'OK']);
    expect(byType.get('QCBS')?.[12]).toBe('Missing');
    expect(byType.get('Campaign_Interactions')?.[12]).toBe('OK');
    expect(summary.getCell('M8').font?.bold).toBe(true);
  });

  it('fails, and closes its output, when the rows of a type cannot be read', async () => {
    const output = createWriteStream(join(dir, 'broken.xlsx'));
    const failing = writeWorkbook(
      config,
      { date: '2026-03-09', executionId: 'run-2', generatedAt: new Date(), types: [], missing: [] },
      async function* (spec) {
        if (spec.type === 'Dials') throw new Error('DynamoDB is down');
        yield* rowsByType[spec.type] ?? [];
      },
      output,
    );
    await expect(failing).rejects.toThrow('DynamoDB is down');
    expect(output.destroyed).toBe(true);
  });
});
