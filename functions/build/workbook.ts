import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { ColumnSpec, Config, ExportSpec } from '../shared/config.ts';
import type { TypeSummary } from '../shared/contracts.ts';
import type { CellValue } from '../shared/rows.ts';
import { instantToIso } from '../shared/time.ts';

/** One row of an export type: its configured columns by name. */
export type RowValues = Record<string, CellValue | undefined>;

/** What the Summary tab tells about the day and the run that built the workbook. */
export interface WorkbookSummary {
  date: string;
  executionId: string;
  generatedAt: Date;
  /** One entry per export type, in config order. */
  types: TypeSummary[];
  /** Export types with no rows for the day. */
  missing: string[];
}

/** The rows of one export type; asked for one type at a time, so only one type is read at once. */
export type RowSource = (spec: ExportSpec) => AsyncIterable<RowValues>;

const dateTimeFormat = 'yyyy-mm-dd hh:mm:ss';
const durationFormat = '[h]:mm:ss';
const msPerDay = 86_400_000;
const headerFont = { bold: true };
const frozenHeader = [{ state: 'frozen' as const, xSplit: 0, ySplit: 1 }];

/** Columns whose text names the agent: rows of a tab are ordered by time, then by agent. */
const agentColumns = ['Agent Name', 'Users'];

const summaryColumns = [
  { header: 'Export type', width: 24 },
  { header: 'Tab', width: 24 },
  { header: 'Rows in workbook', width: 17 },
  { header: 'Last export at', width: 20 },
  { header: 'Files', width: 8 },
  { header: 'Read', width: 10 },
  { header: 'Inserted', width: 10 },
  { header: 'Updated', width: 10 },
  { header: 'Unchanged', width: 11 },
  { header: 'Stale', width: 10 },
  { header: 'Rejected', width: 10 },
  { header: 'Blank', width: 10 },
  { header: 'Status', width: 10 },
];

/**
 * Writes the day's workbook with exceljs's streaming writer: a Summary tab, then one tab
 * per export type in config order, each holding the operator's columns from the type's
 * first column. Returns the number of rows written per export type. The destination is a
 * file path or a stream; on failure it is destroyed.
 */
export async function writeWorkbook(
  config: Config,
  summary: WorkbookSummary,
  rowsOf: RowSource,
  destination: string | Writable,
): Promise<Record<string, number>> {
  const output = typeof destination === 'string' ? createWriteStream(destination) : destination;
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: output,
    useStyles: true,
    // Agent names and filters repeat on every interval: shared strings keep the file small.
    useSharedStrings: true,
  });
  workbook.creator = config.name;
  workbook.created = summary.generatedAt;

  const written: Record<string, number> = {};
  try {
    writeSummary(workbook.addWorksheet('Summary'), config, summary);
    for (const spec of config.exports) {
      // Sorting needs all rows of the type in memory; a day is thousands of rows per type,
      // and only one type is held at a time.
      const rows: RowValues[] = [];
      for await (const row of rowsOf(spec)) rows.push(row);
      rows.sort(rowOrder(spec));
      writeExportTab(workbook.addWorksheet(spec.tab, { views: frozenHeader }), spec, rows);
      written[spec.type] = rows.length;
    }
    await workbook.commit();
  } catch (error) {
    // An incomplete workbook is not left open (a warm Lambda would keep the descriptor).
    output.destroy();
    throw error;
  }
  return written;
}

function writeSummary(sheet: ExcelJS.Worksheet, config: Config, summary: WorkbookSummary): void {
  sheet.columns = summaryColumns.map((c) => ({ width: c.width }));

  const details: [string, ExcelJS.CellValue, string?][] = [
    ['Date', summary.date],
    ['Generated at', localWallTime(instantToIso(summary.generatedAt.getTime(), config.timeZone)), dateTimeFormat],
    ['Execution', summary.executionId],
    ['Missing exports', summary.missing.length > 0 ? summary.missing.join(', ') : 'none'],
  ];
  let rowNumber = 1;
  for (const [label, value, numFmt] of details) {
    const row = sheet.getRow(rowNumber++);
    row.getCell(1).value = label;
    row.getCell(1).font = headerFont;
    const cell = row.getCell(2);
    cell.value = value;
    if (numFmt) cell.numFmt = numFmt;
    row.commit();
  }

  rowNumber++;
  const tableHeader = rowNumber;
  const header = sheet.getRow(rowNumber++);
  summaryColumns.forEach((c, i) => {
    const cell = header.getCell(i + 1);
    cell.value = c.header;
    cell.font = headerFont;
  });
  header.commit();

  for (const type of summary.types) {
    const row = sheet.getRow(rowNumber++);
    const missing = type.rows === 0;
    const lastExport = type.lastExportAt
      ? localWallTime(instantToIso(Date.parse(type.lastExportAt), config.timeZone))
      : null;
    const { read, inserted, updated, unchanged, stale, rejected, blank } = type.ingest;
    const values: ExcelJS.CellValue[] = [
      type.type,
      type.tab,
      type.rows,
      lastExport,
      type.files,
      read,
      inserted,
      updated,
      unchanged,
      stale,
      rejected,
      blank,
      missing ? 'Missing' : 'OK',
    ];
    values.forEach((value, i) => {
      row.getCell(i + 1).value = value;
    });
    row.getCell(4).numFmt = dateTimeFormat;
    if (missing) {
      const status = row.getCell(values.length);
      status.font = { bold: true, color: { argb: 'FFC00000' } };
      status.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFC7CE' } };
    }
    row.commit();
  }

  sheet.autoFilter = {
    from: { row: tableHeader, column: 1 },
    to: { row: Math.max(tableHeader, rowNumber - 1), column: summaryColumns.length },
  };
  sheet.commit();
}

function writeExportTab(sheet: ExcelJS.Worksheet, spec: ExportSpec, rows: readonly RowValues[]): void {
  const first = columnNumber(spec.firstColumn);
  const columns = spec.operatorColumns.map((name) => columnSpec(spec, name));
  const last = first + columns.length - 1;

  // Column widths are written with the first committed row, so they are set before any row.
  sheet.columns = [
    ...Array.from({ length: first - 1 }, () => ({})),
    ...columns.map((column) => ({ width: columnWidth(column, rows) })),
  ];

  const header = sheet.getRow(1);
  columns.forEach((column, i) => {
    const cell = header.getCell(first + i);
    cell.value = column.name;
    cell.font = headerFont;
  });
  header.commit();

  rows.forEach((values, r) => {
    const row = sheet.getRow(r + 2);
    columns.forEach((column, i) => {
      const value = values[column.name];
      if (value === null || value === undefined) return;
      const cell = row.getCell(first + i);
      cell.value = cellValue(column, value);
      const numFmt = numberFormat(column);
      if (numFmt) cell.numFmt = numFmt;
    });
    row.commit();
  });

  sheet.autoFilter = { from: { row: 1, column: first }, to: { row: rows.length + 1, column: last } };
  sheet.commit();
}

function columnSpec(spec: ExportSpec, name: string): ColumnSpec {
  const column = spec.columns.find((c) => c.name === name);
  if (!column) throw new Error(`${spec.type}: operator column ${name} is not configured`);
  return column;
}

/** A stored value as the Excel cell the operator expects; values of an unexpected shape are kept as they are. */
function cellValue(column: ColumnSpec, value: string | number | boolean): ExcelJS.CellValue {
  switch (column.kind) {
    case 'datetime':
      return typeof value === 'string' ? (localWallTime(value) ?? value) : value;
    case 'duration_ms':
      return typeof value === 'number' ? value / msPerDay : value;
    default:
      return value;
  }
}

function numberFormat(column: ColumnSpec): string | undefined {
  if (column.kind === 'datetime') return dateTimeFormat;
  if (column.kind === 'duration_ms') return durationFormat;
  return undefined;
}

const wallTimePattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/;

/**
 * The local wall time of `2026-03-09T08:00:00-05:00` as a Date whose UTC fields read
 * 08:00: exceljs writes dates as UTC serials, and the sheet shows the contact center's time.
 */
export function localWallTime(iso: string): Date | null {
  const m = wallTimePattern.exec(iso.slice(0, 19));
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** The columns of a type the workbook reads: the date column and agent it sorts by, then the operator's columns. */
export function workbookColumns(spec: ExportSpec): string[] {
  const agent = agentColumns.find((name) => spec.columns.some((c) => c.name === name));
  return [...new Set([spec.dateColumn, ...(agent ? [agent] : []), ...spec.operatorColumns])];
}

/** Rows ordered by the instant of the date column, then by agent, then by the visible columns (a stable order whatever the read order). */
function rowOrder(spec: ExportSpec): (a: RowValues, b: RowValues) => number {
  const keys = workbookColumns(spec);
  const instant = (value: CellValue | undefined) => (typeof value === 'string' ? Date.parse(value) : Number.NaN);
  return (a, b) => {
    const byTime = compareNumbers(instant(a[spec.dateColumn]), instant(b[spec.dateColumn]));
    if (byTime !== 0) return byTime;
    for (const key of keys.slice(1)) {
      const order = compareValues(a[key], b[key]);
      if (order !== 0) return order;
    }
    return 0;
  };
}

const collator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

/** Empty and unreadable values sort last. */
function compareNumbers(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a - b;
}

function compareValues(a: CellValue | undefined, b: CellValue | undefined): number {
  const aEmpty = a === null || a === undefined;
  const bEmpty = b === null || b === undefined;
  if (aEmpty || bEmpty) return aEmpty === bEmpty ? 0 : aEmpty ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return collator.compare(String(a), String(b));
}

const fixedWidths: Record<ColumnSpec['kind'], number> = {
  datetime: 20,
  duration_ms: 12,
  count: 10,
  flag: 8,
  text: 10,
};

/** Wide enough for the header and, for text, the longest value (capped). */
function columnWidth(column: ColumnSpec, rows: readonly RowValues[]): number {
  let width = Math.max(column.name.length + 2, fixedWidths[column.kind]);
  if (column.kind === 'text') {
    for (const row of rows) {
      const value = row[column.name];
      if (typeof value === 'string') width = Math.max(width, value.length + 2);
    }
  }
  return Math.min(width, 60);
}

/** `A` → 1, `D` → 4, `AA` → 27. */
export function columnNumber(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}
