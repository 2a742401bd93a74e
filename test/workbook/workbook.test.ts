import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/common/config.ts';
import { maxCellCharacters, maxSheetRows } from '../../functions/common/excel.ts';
import type { DayContent, SourceRow } from '../../functions/workbook/stats.ts';
import { writeWorkbook } from '../../functions/workbook/workbook.ts';
import { columnLetter, columnNumber, cutCell, XlsxWriter } from '../../functions/workbook/xlsx.ts';
import { config, DAY, fixtureRows, report, rowsByType } from './fixtures.ts';

const msPerDay = 86_400_000;

/** exceljs reads a cell with a date or time format as a Date: its Excel serial. */
function serial(value: unknown): number {
  return (value as Date).getTime() / msPerDay + 25_569;
}

/** exceljs reads a sheet's conditional formats into this property; its typings do not declare it. */
interface ReadConditionalFormats {
  conditionalFormattings: { ref: string; rules: { type: string }[] }[];
}

function sheetOf(book: ExcelJS.Workbook, name: string): ExcelJS.Worksheet {
  const found = book.getWorksheet(name);
  if (!found) throw new Error(`no tab ${name}`);
  return found;
}

/** The row whose first cell reads `label`, from `after` on. */
function rowLabelled(sheet: ExcelJS.Worksheet, label: string, after = 0): ExcelJS.Row {
  for (let r = after + 1; r <= sheet.rowCount; r++) {
    if (sheet.getRow(r).getCell(1).value === label) return sheet.getRow(r);
  }
  throw new Error(`no row ${label} in ${sheet.name}`);
}

function valuesOf(row: ExcelJS.Row): unknown[] {
  return (row.values as unknown[]).slice(1);
}

describe('writeWorkbook', () => {
  let dir: string;
  let book: ExcelJS.Workbook;
  let content: DayContent;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlie-workbook-'));
    const path = join(dir, 'report.xlsx');
    content = await writeWorkbook(config, report, (spec) => fixtureRows(spec.type), path);
    book = new ExcelJS.Workbook();
    await book.xlsx.readFile(path);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

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
    expect(content.types.map((t) => [t.type, t.rows])).toEqual([
      ['IB_Calls', 5],
      ['QCBS', 1],
      ['Dials', 1],
      ['Productivity', 2],
      ['Campaign_Interactions', 1],
      ['ACQ', 0],
      ['RESC', 0],
    ]);
  });

  it('puts the operator columns, then the extra ones, under a styled, frozen, filtered header row', () => {
    const tab = sheetOf(book, 'IB Calls');
    expect(valuesOf(tab.getRow(1))).toEqual([
      'Agent Name',
      'Handle',
      'Avg Handle',
      'Interval Start',
      'Interval Complete',
      'Agent Id',
    ]);
    const header = tab.getCell('A1');
    expect(header.font?.bold).toBe(true);
    expect(header.fill).toMatchObject({ type: 'pattern', pattern: 'solid', fgColor: { argb: 'FF1F4E78' } });
    expect(tab.getCell('B1').alignment?.horizontal).toBe('right');
    expect(tab.views[0]).toMatchObject({ state: 'frozen', ySplit: 1, topLeftCell: 'A2' });
    expect(tab.autoFilter).toBe('A1:F6');
    // Text columns fit the longest value; datetimes fit `2026-03-09 08:00:00`.
    expect(tab.getColumn(1).width).toBeGreaterThanOrEqual('Agent Name'.length);
    expect(tab.getColumn(4).width).toBeGreaterThanOrEqual(19);
    expect(tab.getColumn(6).width).toBeGreaterThanOrEqual('id-alice-adams'.length);
  });

  it('fits every tab to the page width when printed, with the header on every page', () => {
    for (const name of ['Summary', 'IB Calls', 'Dials']) {
      expect(sheetOf(book, name).pageSetup, name).toMatchObject({ fitToPage: true, fitToWidth: 1, fitToHeight: 0 });
    }
    expect(sheetOf(book, 'IB Calls').pageSetup.orientation).toBe('portrait');
    // Ten columns of figures print landscape, as does the Summary.
    expect(sheetOf(book, 'Dials').pageSetup.orientation).toBe('landscape');
    expect(sheetOf(book, 'Summary').pageSetup.orientation).toBe('landscape');
    expect(sheetOf(book, 'IB Calls').pageSetup.printTitlesRow).toBe('1:1');
  });

  it('starts the Campaign Interactions tab at column D', () => {
    expect(columnNumber('D')).toBe(4);
    expect(columnLetter(4)).toBe('D');
    expect(columnLetter(27)).toBe('AA');
    const tab = sheetOf(book, 'Campaign Interactions');
    for (const address of ['A1', 'B1', 'C1', 'A2', 'B2', 'C2']) expect(tab.getCell(address).value).toBeNull();
    expect(['D1', 'E1', 'F1', 'G1'].map((a) => tab.getCell(a).value)).toEqual([
      'Users',
      'Date',
      'Initial Direction',
      'First Queue',
    ]);
    expect(tab.autoFilter).toBe('D1:G2');
    expect(tab.getColumn(1).width).toBeUndefined();
  });

  it('writes the rows in the order given: by interval, then agent', () => {
    const tab = sheetOf(book, 'IB Calls');
    expect([2, 3, 4, 5, 6].map((r) => tab.getCell(`A${r}`).value)).toEqual(
      rowsByType.IB_Calls?.map((row) => row.values['Agent Name']),
    );
    expect(tab.rowCount).toBe(6);
    // A type without rows still has its header, and a filter over it.
    expect(sheetOf(book, 'ACQ').rowCount).toBe(1);
    expect(sheetOf(book, 'ACQ').autoFilter).toBe('A1:B1');
  });

  it('writes typed cells: local wall time dates, durations, integer counts, flags, text and empty cells', () => {
    const tab = sheetOf(book, 'IB Calls');
    const start = tab.getCell('D2');
    // 08:00 in Chicago stays 08:00 in the sheet: the serial holds the wall time.
    expect((start.value as Date).toISOString()).toBe('2026-03-09T08:00:00.000Z');
    expect(start.numFmt).toBe('yyyy-mm-dd hh:mm:ss');

    const handle = tab.getCell('B4');
    expect(handle.value).toBe(2);
    expect(handle.type).toBe(ExcelJS.ValueType.Number);
    expect(handle.numFmt).toBe('0');

    const avgHandle = tab.getCell('C4');
    expect(avgHandle.numFmt).toBe('[h]:mm:ss');
    expect(serial(avgHandle.value)).toBeCloseTo(3_723_000 / msPerDay, 9);

    expect(tab.getCell('E2').value).toBe(true);
    expect(tab.getCell('E5').value).toBe(false);
    expect(tab.getCell('F2').value).toBe('id-alice-adams');
    // José's Avg Handle is null in storage: an empty cell, not 0.
    expect(tab.getCell('A6').value).toBe('José Peña');
    expect(tab.getCell('C6').value).toBeNull();

    // Markup characters and a leading space survive as text; a control character does not.
    const campaigns = sheetOf(book, 'Campaign Interactions');
    expect(campaigns.getCell('D2').value).toBe('Carol <Chen> & Co');
    expect(campaigns.getCell('G2').value).toBe(' Campaign A');
    expect((campaigns.getCell('E2').value as Date).toISOString()).toBe('2026-03-09T10:15:00.000Z');
  });

  it('keeps durations as raw milliseconds when configured, for workbooks whose formulas expect them', async () => {
    const path = join(dir, 'milliseconds.xlsx');
    const raw = parseConfig({ ...config, workbook: { ...config.workbook, durations: 'milliseconds' } });
    await writeWorkbook(raw, report, (spec) => fixtureRows(spec.type), path);
    const rawBook = new ExcelJS.Workbook();
    await rawBook.xlsx.readFile(path);
    const cell = sheetOf(rawBook, 'IB Calls').getCell('C4');
    expect(cell.value).toBe(3_723_000);
    expect(cell.numFmt).toBeUndefined();
    // The Summary's KPIs are for people: still durations.
    const bob = rowLabelled(sheetOf(rawBook, 'Summary'), 'Bob Brown');
    expect(bob.getCell(4).numFmt).toBe('[h]:mm:ss');
  });

  it('tells about the run on the Summary', () => {
    const summary = sheetOf(book, 'Summary');
    expect(summary.getCell('A1').value).toBe('Charlie intraday report — Monday, 9 March 2026');
    expect(summary.getCell('A1').font?.size).toBe(16);
    const detail = (label: string) => rowLabelled(summary, label).getCell(2);
    expect((detail('Business date').value as Date).toISOString()).toBe(`${DAY}T00:00:00.000Z`);
    expect(detail('Run').value).toBe('Daily, the whole day');
    // Generated at 12:00:05Z is 07:00:05 in Chicago (CDT).
    expect((detail('Generated at').value as Date).toISOString()).toBe('2026-03-10T07:00:05.000Z');
    expect(detail('Generated at').numFmt).toBe('yyyy-mm-dd hh:mm:ss');
    expect(detail('Time zone').value).toBe('America/Chicago');
    expect(detail('Execution').value).toBe(report.run.executionId);
    expect(detail('Sources').value).toBe(
      '3 files ingested · mailbox: 40 messages, 38 matched, 2 ignored, 3 attachments stored, 35 already stored · agent inbox: 0 files',
    );
    expect(detail('Missing exports').value).toBe('ACQ, RESC');
    expect(detail('Missing exports').font?.color?.argb).toBe('FF9C0006');
    expect(detail('Late exports').value).toBe('QCBS (no data in the last 90 minutes before the newest export)');
  });

  it('lists each export type with its rows, when its last data arrived, its status and this run’s ingest counts', () => {
    const summary = sheetOf(book, 'Summary');
    const header = rowLabelled(summary, 'Export');
    expect(valuesOf(header)).toEqual([
      'Export',
      'Tab',
      'Rows',
      'Last data at',
      'Status',
      'Files',
      'Read',
      'Inserted',
      'Updated',
      'Unchanged',
      'Stale',
      'Rejected',
      'Blank',
    ]);
    const byType = new Map<string, ExcelJS.Row>();
    for (let r = header.number + 1; r <= header.number + config.exports.length; r++) {
      byType.set(String(summary.getRow(r).getCell(1).value), summary.getRow(r));
    }
    expect([...byType.keys()]).toEqual(config.exports.map((e) => e.type));
    const ib = valuesOf(byType.get('IB_Calls') as ExcelJS.Row);
    expect(ib.slice(0, 3)).toEqual(['IB_Calls', 'IB Calls', 5]);
    // The newest export of IB Calls, 15:00Z, is 10:00 in Chicago.
    expect((ib[3] as Date).toISOString()).toBe('2026-03-09T10:00:00.000Z');
    expect(ib.slice(4)).toEqual(['OK', 2, 11, 5, 0, 5, 0, 1, 150]);

    const status = (type: string) => byType.get(type)?.getCell(5);
    expect(status('QCBS')?.value).toBe('Late');
    expect(status('QCBS')?.fill).toMatchObject({ fgColor: { argb: 'FFFFEB9C' } });
    expect(status('ACQ')?.value).toBe('Missing');
    expect(status('ACQ')?.font).toMatchObject({ bold: true, color: { argb: 'FF9C0006' } });
    expect(status('ACQ')?.fill).toMatchObject({ fgColor: { argb: 'FFFFC7CE' } });
    expect(byType.get('ACQ')?.getCell(4).value).toBeNull();

    const total = valuesOf(rowLabelled(summary, 'Total', header.number));
    expect(total[2]).toBe(10);
    expect(total.slice(5)).toEqual([3, 12, 6, 0, 5, 0, 1, 150]);
  });

  it('shows the volume of each hour with in-cell data bars', () => {
    const summary = sheetOf(book, 'Summary');
    const header = rowLabelled(summary, 'Hour');
    expect(valuesOf(header)).toEqual(['Hour', ...config.exports.map((e) => e.tab), 'Total']);
    const hour = (h: number) => valuesOf(summary.getRow(header.number + 1 + h));
    expect(hour(0)[0]).toBe('00:00–01:00');
    // Handle where the type has it (IB Calls 7 + 1 + 2; Dials 2), else rows (Productivity 2).
    expect(hour(8)).toEqual(['08:00–09:00', 10, 0, 2, 2, 0, 0, 0, 14]);
    expect(hour(10)).toEqual(['10:00–11:00', 0, 0, 0, 0, 1, 0, 0, 1]);
    expect(hour(23)[0]).toBe('23:00–24:00');
    expect(summary.getRow(header.number + 9).getCell(2).numFmt).toBe('#,##0;-#,##0;');
    expect(valuesOf(summary.getRow(header.number + 25))).toEqual(['Total', 17, 5, 2, 2, 1, 0, 0, 27]);

    const first = header.number + 1;
    const last = header.number + 24;
    const { conditionalFormattings } = summary as unknown as ReadConditionalFormats;
    const bars = conditionalFormattings.map((cf) => ({ ref: cf.ref, type: cf.rules[0]?.type }));
    expect(bars).toEqual(
      ['B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'].map((col) => ({ ref: `${col}${first}:${col}${last}`, type: 'dataBar' })),
    );
  });

  it('shows each agent’s KPIs across the export types, and everyone’s', () => {
    const summary = sheetOf(book, 'Summary');
    const header = rowLabelled(summary, 'Agent');
    expect(valuesOf(header)).toEqual([
      'Agent',
      'Calls handled',
      'Dials handled',
      'Avg handle',
      'Avg talk',
      'Holds',
      'Avg hold',
      'Avg ACW',
      'Logged in',
      'On queue %',
      'Interacting %',
    ]);
    const agents = [1, 2, 3, 4].map((i) => summary.getRow(header.number + i).getCell(1).value);
    expect(agents).toEqual(['alice Adams', 'Bob Brown', 'José Peña', 'Zed Zimmer']);
    expect(summary.autoFilter).toBe(`A${header.number}:K${header.number + 4}`);

    const bob = rowLabelled(summary, 'Bob Brown', header.number);
    expect([bob.getCell(2).value, bob.getCell(3).value]).toEqual([5, 2]);
    // (1 × 1:00 + 4 × 1:30 + 2 × 5:00) / 7 handled, over calls and dials.
    expect(serial(bob.getCell(4).value)).toBeCloseTo(145_714 / msPerDay, 9);
    expect(bob.getCell(4).numFmt).toBe('[h]:mm:ss');
    // Talk over the 2 dials with talk (400 s), hold over its 1 hold (50 s), ACW over the 2 with ACW (150 s).
    expect(Math.round(serial(bob.getCell(5).value) * msPerDay)).toBe(200_000);
    expect(bob.getCell(6).value).toBe(1);
    expect(bob.getCell(6).numFmt).toBe('#,##0');
    expect([7, 8].map((c) => Math.round(serial(bob.getCell(c).value) * msPerDay))).toEqual([50_000, 75_000]);
    expect(serial(bob.getCell(9).value)).toBeCloseTo(1 / 24, 9);
    expect([bob.getCell(10).value, bob.getCell(11).value]).toEqual([0.75, 0.5]);
    expect(bob.getCell(10).numFmt).toBe('0.0%');

    // José's handle time is unknown: no average, yet his calls count.
    const jose = rowLabelled(summary, 'José Peña', header.number);
    expect([jose.getCell(2).value, jose.getCell(4).value]).toEqual([3, null]);

    const everyone = rowLabelled(summary, 'All agents', header.number);
    expect([everyone.getCell(2).value, everyone.getCell(3).value]).toEqual([17, 2]);
    expect(Math.round(serial(everyone.getCell(4).value) * msPerDay)).toBe(581_625);
    expect(everyone.getCell(10).value).toBeCloseTo(4.5 / 5.4, 12);
    expect(everyone.getCell(1).font?.bold).toBe(true);
  });

  it('returns the day’s figures for the state payload, without agent names', () => {
    expect(content.missing).toEqual(['ACQ', 'RESC']);
    expect(content.late).toEqual(['QCBS']);
    expect(content.kpis).toEqual({
      callsHandled: 17,
      dialsHandled: 2,
      avgHandleMs: 581_625,
      avgTalkMs: 200_000,
      holds: 1,
      avgHoldMs: 50_000,
      avgAcwMs: 75_000,
      onQueuePct: 83.3,
      interactingPct: 50,
      agents: 4,
    });
    expect(content.hourly).toHaveLength(24);
    expect(content.hourly[8]).toEqual({
      hour: 8,
      volumes: { IB_Calls: 10, QCBS: 0, Dials: 2, Productivity: 2, Campaign_Interactions: 0, ACQ: 0, RESC: 0 },
    });
    expect(content.types.find((t) => t.type === 'IB_Calls')).toMatchObject({
      lastExportAt: '2026-03-09T15:00:00.000Z',
      files: 2,
      ingest: { read: 11, inserted: 5, unchanged: 5, rejected: 1, blank: 150 },
    });
    const state = JSON.stringify({ ...content, agents: undefined, everyone: undefined });
    for (const name of ['alice', 'Bob', 'José', 'Zed', 'Carol']) expect(state).not.toContain(name);
  });

  it('waits for a slow output to drain, and still writes every row', async () => {
    const rows = 60_000;
    const agents = Array.from({ length: 500 }, (_, i) => `Agent ${i}`);
    const big: SourceRow[][] = [];
    for (let hour = 0; hour * agents.length < rows; hour++) {
      const start = `${DAY}T${String(hour % 24).padStart(2, '0')}:00:00-05:00`;
      big.push(
        agents.map((agent, i) => ({
          exportedAt: '2026-03-09T15:00:00.000Z',
          values: {
            'Interval Start': start,
            'Interval Complete': true,
            'Agent Id': `id-${i}`,
            'Agent Name': agent,
            Handle: (i + hour) % 9,
            'Avg Handle': 60_000 + i * 17.5 + hour,
          },
        })),
      );
    }
    /** A destination slower than the writer, that records how much was ever waiting in it. */
    class SlowDisk extends Writable {
      maxBuffered = 0;
      received = 0;
      readonly chunks: Buffer[] = [];
      constructor() {
        super({ highWaterMark: 64 * 1024 });
      }
      override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
        this.maxBuffered = Math.max(this.maxBuffered, this.writableLength);
        this.received += chunk.length;
        this.chunks.push(chunk);
        setImmediate(done);
      }
    }
    const disk = new SlowDisk();
    const result = await writeWorkbook(
      config,
      report,
      async function* (spec) {
        if (spec.type === 'IB_Calls') yield* big;
      },
      disk,
    );
    expect(result.types[0]?.rows).toBe(rows);
    expect(disk.received).toBeGreaterThan(2 * 1024 * 1024);
    // Without waiting for it to drain, the whole file would queue in the destination.
    expect(disk.maxBuffered).toBeLessThan(256 * 1024);

    // The archive is whole: the IB Calls sheet ends with its last row (reading 60k rows back with exceljs takes seconds).
    const files = unzipSync(Buffer.concat(disk.chunks));
    const sheet = strFromU8(files['xl/worksheets/sheet2.xml'] ?? new Uint8Array());
    expect(sheet).toContain(`<row r="${rows + 1}">`);
    expect(sheet).not.toContain(`<row r="${rows + 2}">`);
    expect(sheet.endsWith('</worksheet>')).toBe(true);
  });

  it('fails, and closes its output, when the rows of a type cannot be read', async () => {
    const output = createWriteStream(join(dir, 'broken.xlsx'));
    const failing = writeWorkbook(
      config,
      report,
      async function* (spec) {
        if (spec.type === 'Dials') throw new Error('DynamoDB is down');
        yield* fixtureRows(spec.type);
      },
      output,
    );
    await expect(failing).rejects.toThrow('DynamoDB is down');
    expect(output.destroyed).toBe(true);
  });
});

describe('the Summary’s figures', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlie-workbook-figures-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A Dials row of the day as Genesys exports it: counts, averages and totals (ms). */
  function dials(hour: number, agent: string, figures: Record<string, number | null>): SourceRow {
    const at = (h: number) => `${DAY}T${String(h).padStart(2, '0')}:00:00-05:00`;
    return {
      exportedAt: '2026-03-09T20:00:00.000Z',
      values: { 'Interval Start': at(hour), 'Agent Id': `id-${agent}`, 'Agent Name': agent, ...figures },
    };
  }

  it('averages talk, hold and ACW over what Genesys counts: 427 holds of 1:22 show 1:22, not 0:06', async () => {
    const rows = [
      // 400 holds of 1:20; 3,000 dials with talk; 2,000 with ACW.
      dials(9, 'Ann', {
        Handle: 3000,
        'Avg Handle': 200_000,
        'Avg Talk': 150_000,
        'Avg Hold': 80_000,
        'Avg ACW': 30_000,
        'Total Talk': 450_000_000,
        'Total Hold': 32_000_000,
        'Total ACW': 60_000_000,
      }),
      // 27 holds, Avg Hold as Genesys rounds it (3,014 s ÷ 27); no ACW.
      dials(9, 'Ben', {
        Handle: 2000,
        'Avg Handle': 100_000,
        'Avg Talk': 90_000,
        'Avg Hold': 111_629.63,
        'Avg ACW': 0,
        'Total Talk': 180_000_000,
        'Total Hold': 3_014_000,
        'Total ACW': 0,
      }),
      // Never held (no Avg Hold); 500 of 600 dials answered.
      dials(10, 'Cy', {
        Handle: 600,
        'Avg Handle': 70_000,
        'Avg Talk': 60_000,
        'Avg Hold': null,
        'Avg ACW': 20_000,
        'Total Talk': 30_000_000,
        'Total Hold': 0,
        'Total ACW': 12_000_000,
      }),
    ];
    const path = join(dir, 'holds.xlsx');
    const content = await writeWorkbook(
      config,
      report,
      async function* (spec) {
        if (spec.type === 'Dials') yield rows;
      },
      path,
    );
    // Hold: 35,014 s over 427 holds, not over 5,600 dials (6.25 s). Talk: 660,000 s over 5,500.
    // ACW: 72,000 s over 2,600. Handle: (3000 × 200 + 2000 × 100 + 600 × 70) s over 5,600.
    expect(content.kpis).toEqual({
      dialsHandled: 5600,
      avgHandleMs: 150_357,
      avgTalkMs: 120_000,
      holds: 427,
      avgHoldMs: 82_000,
      avgAcwMs: 27_692,
      agents: 3,
    });
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(path);
    const summary = sheetOf(book, 'Summary');
    const header = rowLabelled(summary, 'Agent');
    const everyone = rowLabelled(summary, 'All agents', header.number);
    const seconds = (cell: number) => Math.round(serial(everyone.getCell(cell).value) * 86_400);
    expect(everyone.getCell(3).value).toBe(5600);
    expect(everyone.getCell(6).value).toBe(427);
    expect(seconds(7)).toBe(82);
    expect([seconds(4), seconds(5), seconds(8)]).toEqual([150, 120, 28]);
    // Ben's 27 holds average 1:51.6; Cy was never held: 0 holds, no average.
    const ben = rowLabelled(summary, 'Ben', header.number);
    expect(ben.getCell(6).value).toBe(27);
    expect(Math.round(serial(ben.getCell(7).value) * msPerDay)).toBe(111_630);
    expect(ben.getCell(8).value).toBeNull();
    const cy = rowLabelled(summary, 'Cy', header.number);
    expect([cy.getCell(6).value, cy.getCell(7).value]).toEqual([0, null]);
    expect(Math.round(serial(cy.getCell(5).value) * msPerDay)).toBe(60_000);
  });
});

/** The IB Calls fixture's rows, `times` over (rows in order, a batch per interval), for a day past a tab's limit. */
async function* repeatedIbCalls(times: number): AsyncGenerator<SourceRow[]> {
  for (let copy = 0; copy < times; copy++) {
    for await (const batch of fixtureRows('IB_Calls')) {
      yield batch.map((row) => ({
        ...row,
        values: { ...row.values, 'Agent Id': `${row.values['Agent Id']}-${copy}` },
      }));
    }
  }
}

describe('Excel limits', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlie-workbook-limits-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function readBook(path: string): Promise<ExcelJS.Workbook> {
    const read = new ExcelJS.Workbook();
    await read.xlsx.readFile(path);
    return read;
  }

  it('continues a type past the rows a tab holds on tabs of its own, each with the header, frozen and filtered', async () => {
    const path = join(dir, 'continued.xlsx');
    // 25 IB Calls rows, 10 rows a tab (the header and 9): 9 + 9 + 7.
    const content = await writeWorkbook(
      config,
      report,
      (spec) => (spec.type === 'IB_Calls' ? repeatedIbCalls(5) : fixtureRows(spec.type)),
      path,
      { maxRowsPerTab: 10 },
    );
    const book = await readBook(path);
    expect(book.worksheets.map((w) => w.name)).toEqual([
      'Summary',
      'IB Calls',
      'IB Calls (2)',
      'IB Calls (3)',
      'QCBS',
      'Dials',
      'Productivity',
      'Campaign Interactions',
      'ACQ',
      'RESC',
    ]);
    const tabs = ['IB Calls', 'IB Calls (2)', 'IB Calls (3)'].map((name) => sheetOf(book, name));
    expect(tabs.map((tab) => tab.rowCount)).toEqual([10, 10, 8]);
    for (const tab of tabs) {
      expect(valuesOf(tab.getRow(1)), tab.name).toEqual(valuesOf(sheetOf(book, 'IB Calls').getRow(1)));
      expect(tab.getCell('A1').font?.bold, tab.name).toBe(true);
      expect(tab.views[0], tab.name).toMatchObject({ state: 'frozen', ySplit: 1, topLeftCell: 'A2' });
      expect(tab.pageSetup.printTitlesRow, tab.name).toBe('1:1');
      expect(tab.getColumn(1).width, tab.name).toBe(sheetOf(book, 'IB Calls').getColumn(1).width);
    }
    expect(tabs.map((tab) => tab.autoFilter)).toEqual(['A1:F10', 'A1:F10', 'A1:F8']);
    // Every row once, in order, across the tabs.
    const ids = tabs.flatMap((tab) =>
      Array.from({ length: tab.rowCount - 1 }, (_, i) => tab.getCell(`F${i + 2}`).value),
    );
    const expected: unknown[] = [];
    for await (const batch of repeatedIbCalls(5)) expected.push(...batch.map((row) => row.values['Agent Id']));
    expect(ids).toEqual(expected);

    // The Summary counts the type's rows once and names the tabs they continue on.
    expect(content.types.find((t) => t.type === 'IB_Calls')?.rows).toBe(25);
    const summary = sheetOf(book, 'Summary');
    const ib = rowLabelled(summary, 'IB_Calls');
    expect(valuesOf(ib).slice(0, 3)).toEqual(['IB_Calls', 'IB Calls, continues on IB Calls (2) to IB Calls (3)', 25]);
    expect(ib.getCell(2).alignment?.wrapText).toBe(true);
    expect(rowLabelled(summary, 'QCBS').getCell(2).value).toBe('QCBS');
  });

  it('names a single continuation tab on the Summary', async () => {
    const path = join(dir, 'one-more.xlsx');
    await writeWorkbook(
      config,
      report,
      (spec) => (spec.type === 'IB_Calls' ? repeatedIbCalls(2) : fixtureRows(spec.type)),
      path,
      { maxRowsPerTab: 10 },
    );
    const book = await readBook(path);
    expect(sheetOf(book, 'IB Calls (2)').rowCount).toBe(2);
    expect(book.getWorksheet('IB Calls (3)')).toBeUndefined();
    expect(rowLabelled(sheetOf(book, 'Summary'), 'IB_Calls').getCell(2).value).toBe(
      'IB Calls, continues on IB Calls (2)',
    );
  });

  it('holds 1,048,576 rows a tab by default, the header included', async () => {
    expect(maxSheetRows).toBe(1_048_576);
    const book = new XlsxWriter(new Writable({ write: (_chunk, _encoding, done) => done() }), {
      sheets: ['Rows'],
      styles: [],
      creator: 'test',
      title: 'test',
      created: new Date('2026-03-10T12:00:00Z'),
      compressionLevel: 1,
    });
    const sheet = await book.sheet('Rows', { widths: [] });
    // Rows left empty count as rows: no need to write a million to reach the last.
    sheet.skip(maxSheetRows - 1);
    expect(sheet.full).toBe(false);
    await sheet.row(['the last row Excel shows'], [0]);
    expect(sheet.rowNumber).toBe(1_048_576);
    expect(sheet.full).toBe(true);
    expect(() => sheet.row(['one too many'], [0])).toThrow('more rows than it may hold (1048576)');
    book.abort();
  });

  it('cuts a text over 32,767 characters to the limit, ending with a mark, and leaves one at the limit whole', async () => {
    const path = join(dir, 'long-cells.xlsx');
    const long = 'x'.repeat(40_000);
    const atLimit = 'y'.repeat(maxCellCharacters);
    // An emoji (two UTF-16 units) across the cut, which falls after 32,736 units: never split in half.
    const emoji = `${'z'.repeat(maxCellCharacters - 37)}${'😀'.repeat(5000)}`;
    const names = [long, atLimit, emoji];
    await writeWorkbook(
      config,
      report,
      async function* (spec) {
        if (spec.type !== 'IB_Calls') return;
        for await (const batch of fixtureRows('IB_Calls')) {
          yield batch.map((row, i) => ({ ...row, values: { ...row.values, 'Agent Name': names[i] ?? 'Ann' } }));
          return;
        }
      },
      path,
    );
    const tab = sheetOf(await readBook(path), 'IB Calls');
    const [cut = '', whole, cutEmoji = ''] = ['A2', 'A3', 'A4'].map((address) => String(tab.getCell(address).value));
    expect(cut).toHaveLength(maxCellCharacters);
    expect(cut.startsWith('x'.repeat(32_000))).toBe(true);
    expect(cut.endsWith('x… [cut from 40,000 characters]')).toBe(true);
    expect(whole).toBe(atLimit);
    expect(cutEmoji).toHaveLength(maxCellCharacters - 1);
    expect(cutEmoji.endsWith('z😀😀😀… [cut from 42,730 characters]')).toBe(true);
    // No lone surrogate: UTF-8 round-trips it unchanged.
    expect(Buffer.from(cutEmoji, 'utf8').toString('utf8')).toBe(cutEmoji);
    expect(cutCell(long)).toBe(cut);
  });

  it('refuses a tab name Excel would refuse', () => {
    const writer = (sheets: string[]) =>
      new XlsxWriter(new Writable({ write: (_chunk, _encoding, done) => done() }), {
        sheets,
        styles: [],
        creator: 'test',
        title: 'test',
        created: new Date('2026-03-10T12:00:00Z'),
        compressionLevel: 1,
      });
    expect(() => writer(['A/B'])).toThrow('Sheet name "A/B" must not contain any of [ ] : * ? / \\');
    expect(() => writer(['x'.repeat(32)])).toThrow('must be at most 31 characters');
    expect(() => writer(['Calls', 'CALLS'])).toThrow('Sheet name "CALLS" is taken by "Calls" (Excel ignores case)');
    expect(() => writer(["'Quoted'"])).toThrow("must not start or end with '");
  });
});
