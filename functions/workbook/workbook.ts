import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { describeRule, formatValue } from '../common/alerts.ts';
import type { ColumnSpec, Config, ExportSpec } from '../common/config.ts';
import type { AlertsStatus, CollectSummary, HourlyVolume, IngestResult, Run, SourceFile } from '../common/contracts.ts';
import { continuationTabName, maxTabsPerExport } from '../common/excel.ts';
import { workbookName } from '../common/keys.ts';
import { logger } from '../common/observability.ts';
import type { QuarantineRecord } from '../common/quarantine.ts';
import { instantToIso } from '../common/time.ts';
import { evaluateAlerts } from './alerts.ts';
import { hasProblems, PROBLEM_LIMITS, type RunProblems } from './problems.ts';
import { agentColumn, type DayContent, DayStats, figureColumnsOf, type RowValues, type SourceRow } from './stats.ts';
import { type CellInput, columnNumber, type SheetLayout, type SheetWriter, styleTable, XlsxWriter } from './xlsx.ts';

/** The rows of one export type in workbook order (interval, then agent), a batch at a time. */
export type RowSource = (spec: ExportSpec) => AsyncIterable<readonly SourceRow[]>;

export interface WorkbookOptions {
  /** Rows a tab holds before the rows continue on the next (default Excel's 1,048,576; fewer in tests). */
  maxRowsPerTab?: number;
}

/** The run the workbook reports on. */
export interface WorkbookRun {
  run: Run;
  ingested: IngestResult[];
  mail: CollectSummary;
  generatedAt: Date;
  /** What went wrong: with any, a Problems tab follows the Summary. */
  problems?: { run: RunProblems; quarantined: readonly QuarantineRecord[] };
  /** The files ingested, by key: when each was exported places its rejected rows in an hour, for the alert rules. */
  files?: readonly SourceFile[];
}

/** What the workbook tells about the day, and the day's threshold alerts when rules are configured. */
export type WorkbookContent = DayContent & { alerts?: AlertsStatus };

const msPerDay = 86_400_000;
/** Excel's serial of 1970-01-01. */
const unixEpochSerial = 25_569;
/** Rows read before a tab is started, to size its text columns. */
const widthSampleRows = 500;
/** Tabs wider than this (in characters) print landscape. */
const portraitWidth = 100;
const dataBarColor = 'FF5B9BD5';

const palette = styleTable({
  header: { bold: true, color: 'FFFFFFFF', fill: 'FF1F4E78', border: 'bottom', wrap: true },
  /** Over a column of numbers. */
  headerRight: { bold: true, color: 'FFFFFFFF', fill: 'FF1F4E78', border: 'bottom', wrap: true, align: 'right' },
  datetime: { numFmt: 'yyyy-mm-dd hh:mm:ss' },
  duration: { numFmt: '[h]:mm:ss' },
  count: { numFmt: '0' },
  title: { bold: true, size: 16, color: 'FF1F4E78' },
  section: { bold: true, size: 12, color: 'FF1F4E78' },
  label: { bold: true },
  note: { italic: true, color: 'FF595959' },
  wrapped: { wrap: true },
  detailDate: { numFmt: 'yyyy-mm-dd', align: 'left' },
  detailDatetime: { numFmt: 'yyyy-mm-dd hh:mm:ss', align: 'left' },
  number: { numFmt: '#,##0' },
  /** Zero shows as an empty cell, so the hours with volume stand out. */
  volume: { numFmt: '#,##0;-#,##0;' },
  percent: { numFmt: '0.0%' },
  ok: { color: 'FF006100', fill: 'FFC6EFCE', align: 'center' },
  missing: { bold: true, color: 'FF9C0006', fill: 'FFFFC7CE', align: 'center' },
  late: { bold: true, color: 'FF9C5700', fill: 'FFFFEB9C', align: 'center' },
  missingText: { bold: true, color: 'FF9C0006', fill: 'FFFFC7CE' },
  lateText: { bold: true, color: 'FF9C5700', fill: 'FFFFEB9C' },
  totalLabel: { bold: true, border: 'top' },
  totalNumber: { bold: true, border: 'top', numFmt: '#,##0' },
  totalDatetime: { bold: true, border: 'top', numFmt: 'yyyy-mm-dd hh:mm:ss' },
  totalDuration: { bold: true, border: 'top', numFmt: '[h]:mm:ss' },
  totalPercent: { bold: true, border: 'top', numFmt: '0.0%' },
});
const style = palette.id;

/**
 * Writes the day's workbook: a Summary tab, then one tab per export type in config order
 * with the operator's columns from the type's first column and the configured extra columns
 * to their right. The export tabs are written first, as their rows stream in, and tallied on
 * the way; the Summary is written last from those tallies (it is still the first tab), so it
 * always agrees with the tabs. A type with more rows than a tab holds continues on tabs of its
 * own right after it (`IB Calls (2)`…), and the Summary says so. The destination is a file path
 * or a stream; on failure it is destroyed.
 */
export async function writeWorkbook(
  config: Config,
  report: WorkbookRun,
  rowsOf: RowSource,
  destination: string | Writable,
  options: WorkbookOptions = {},
): Promise<WorkbookContent> {
  const output =
    typeof destination === 'string' ? createWriteStream(destination, { highWaterMark: 1 << 20 }) : destination;
  const { run, problems } = report;
  const withProblems = problems !== undefined && hasProblems(problems.run, problems.quarantined.length);
  const book = new XlsxWriter(output, {
    sheets: ['Summary', ...(withProblems ? ['Problems'] : []), ...config.exports.map((spec) => spec.tab)],
    styles: palette.styles,
    creator: config.name,
    title: workbookName(run.date, run.intradayTime).replace(/\.xlsx$/, ''),
    created: report.generatedAt,
    compressionLevel: 1,
  });
  try {
    const rules = config.alerts?.rules ?? [];
    const day = new DayStats(config, run.date, new Set(rules.map((rule) => rule.type)));
    const continuations = new Map<string, string[]>();
    for (const spec of config.exports) {
      const more = await writeExportTab(book, config, spec, rowsOf(spec), day, options.maxRowsPerTab);
      if (more.length > 0) continuations.set(spec.type, more);
    }
    addRejectedRows(config, day, report);
    const dayContent = day.content(report.ingested);
    const content: WorkbookContent =
      rules.length > 0 ? { ...dayContent, alerts: evaluateAlerts(rules, dayContent) } : dayContent;
    await writeSummary(book, config, report, content, continuations);
    if (withProblems) await writeProblems(book, config, problems.run, problems.quarantined);
    await book.finish();
    if (book.cellsCut > 0) {
      logger.warn('text cells over Excel’s limit were cut, with a mark, in the workbook', { cells: book.cellsCut });
    }
    if (continuations.size > 0) {
      logger.info('export types continued on more tabs', { tabs: Object.fromEntries(continuations) });
    }
    return content;
  } catch (error) {
    // An incomplete workbook is not left open (a warm Lambda would keep the descriptor).
    book.abort();
    output.destroy();
    throw error;
  }
}

/** Each ingested file's rejected rows, in the hour it was exported. */
function addRejectedRows(config: Config, day: DayStats, report: WorkbookRun): void {
  const exportedAt = new Map(report.files?.map((file) => [file.key, file.exportedAt]));
  for (const result of report.ingested) {
    const spec = config.exports.find((e) => e.type === result.type);
    const at = exportedAt.get(result.key);
    if (spec && at && result.counts.rejected > 0) day.type(spec).addRejected(at, result.counts.rejected);
  }
}

/** The columns of a tab: the operator's, then the extra ones. */
export function tabColumns(spec: ExportSpec): ColumnSpec[] {
  return [...spec.operatorColumns, ...spec.extraColumns].map((name) => {
    const column = spec.columns.find((c) => c.name === name);
    if (!column) throw new Error(`${spec.type}: column ${name} is not configured`);
    return column;
  });
}

/** The columns of a type the workbook reads: those it shows, sorts by and takes figures from. */
export function workbookColumns(spec: ExportSpec): string[] {
  const agent = agentColumn(spec);
  return [
    ...new Set([
      spec.dateColumn,
      ...(agent ? [agent] : []),
      ...tabColumns(spec).map((c) => c.name),
      ...figureColumnsOf(spec),
    ]),
  ];
}

/** Writes a type's tab; returns the continuation tabs its rows needed beyond it, if any. */
async function writeExportTab(
  book: XlsxWriter,
  config: Config,
  spec: ExportSpec,
  rows: AsyncIterable<readonly SourceRow[]>,
  day: DayStats,
  maxRows: number | undefined,
): Promise<string[]> {
  const columns = tabColumns(spec);
  const first = columnNumber(spec.firstColumn);
  const last = first + columns.length - 1;
  const tally = day.type(spec);
  const iterator = rows[Symbol.asyncIterator]();
  const continuations: string[] = [];
  try {
    // Column widths come before the rows in the sheet: they are sized on the first rows.
    const sample: (readonly SourceRow[])[] = [];
    let sampled = 0;
    while (sampled < widthSampleRows) {
      const next = await iterator.next();
      if (next.done) break;
      sample.push(next.value);
      sampled += next.value.length;
    }
    const widths = columns.map((column) => columnWidth(column, sample));
    const layout: SheetLayout = {
      widths: [...new Array<number>(first - 1).fill(0), ...widths],
      frozenRows: 1,
      landscape: widths.reduce((sum, w) => sum + w, 0) > portraitWidth,
      printTitleRows: 1,
      ...(maxRows ? { maxRows } : {}),
    };
    // Every tab of the type, continuations too, has the header, frozen, and a filter over its rows.
    const start = async (name: string, after?: string): Promise<SheetWriter> => {
      const tab = await book.sheet(name, layout, after ? { after } : undefined);
      await tab.row(
        columns.map((c) => c.name),
        columns.map((c) => (c.kind === 'text' || c.kind === 'flag' ? style.header : style.headerRight)),
        { first, height: 30 },
      );
      return tab;
    };
    const end = (tab: SheetWriter) =>
      tab.end({
        autoFilter: { firstRow: 1, firstColumn: first, lastRow: Math.max(tab.rowNumber, 1), lastColumn: last },
      });
    let sheet = await start(spec.tab);

    const encode = cellEncoder(columns, config.workbook.durations);
    const cells = new Array<CellInput>(columns.length);
    const styles = columns.map((column) => columnStyle(column, config.workbook.durations));
    const write = async (batch: readonly SourceRow[]) => {
      for (const row of batch) {
        if (sheet.full) {
          const number = continuations.length + 2;
          if (number > maxTabsPerExport) {
            throw new Error(
              `${spec.type} has more rows than ${maxTabsPerExport} tabs hold (${sheet.maxRows - 1} each)`,
            );
          }
          await end(sheet);
          const name = continuationTabName(spec.tab, number);
          sheet = await start(name, sheet.name);
          continuations.push(name);
        }
        tally.add(row);
        encode(row.values, cells);
        const drained = sheet.row(cells, styles, { first });
        if (drained) await drained;
      }
    };
    for (const batch of sample) await write(batch);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) await write(next.value);
    await end(sheet);
    return continuations;
  } finally {
    await iterator.return?.();
  }
}

/** Fills `cells` with a row's values as Excel cells, column by column. */
function cellEncoder(
  columns: readonly ColumnSpec[],
  durations: Config['workbook']['durations'],
): (values: RowValues, cells: CellInput[]) => void {
  const names = columns.map((c) => c.name);
  const kinds = columns.map((c) => c.kind);
  const excelDurations = durations === 'excel';
  return (values, cells) => {
    for (let i = 0; i < names.length; i++) {
      const value = values[names[i] as string];
      const kind = kinds[i];
      if (kind === 'datetime' && typeof value === 'string') cells[i] = wallTimeSerial(value) ?? value;
      else if (kind === 'duration_ms' && excelDurations && typeof value === 'number') cells[i] = value / msPerDay;
      else cells[i] = value;
    }
  };
}

function columnStyle(column: ColumnSpec, durations: Config['workbook']['durations']): number {
  if (column.kind === 'datetime') return style.datetime;
  if (column.kind === 'duration_ms') return durations === 'excel' ? style.duration : 0;
  if (column.kind === 'count') return style.count;
  return 0;
}

const serials = new Map<string, number | undefined>();
const wallTimePattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/;

/**
 * The Excel serial of the local wall time of `2026-03-09T08:00:00-05:00`: the sheet shows
 * the contact center's time (08:00), whatever the offset. Cached: a day has few distinct
 * interval starts.
 */
export function wallTimeSerial(iso: string): number | undefined {
  if (serials.has(iso)) return serials.get(iso);
  const m = wallTimePattern.exec(iso);
  const serial = m
    ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / msPerDay +
      unixEpochSerial
    : undefined;
  if (serials.size >= 100_000) serials.clear();
  serials.set(iso, serial);
  return serial;
}

const fixedWidths: Record<ColumnSpec['kind'], number> = {
  datetime: 20,
  duration_ms: 12,
  count: 10,
  flag: 10,
  text: 12,
};

/** Wide enough for the header and, for text, the longest value among the first rows (capped). */
function columnWidth(column: ColumnSpec, sample: readonly (readonly SourceRow[])[]): number {
  let width = Math.max(column.name.length + 4, fixedWidths[column.kind]);
  if (column.kind === 'text') {
    for (const batch of sample) {
      for (const row of batch) {
        const value = row.values[column.name];
        if (typeof value === 'string') width = Math.max(width, value.length + 2);
      }
    }
  }
  return Math.min(width, 60);
}

const summaryWidths = [26, 22, 13, 20, 13, 13, 13, 13, 13, 13, 13, 13, 13];
const exportHeaders = [
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
];
const agentHeaders = [
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
];

/** The Summary: the run, each export type's rows and freshness, volume by hour, agent KPIs. */
async function writeSummary(
  book: XlsxWriter,
  config: Config,
  report: WorkbookRun,
  day: WorkbookContent,
  continuations: ReadonlyMap<string, readonly string[]>,
): Promise<void> {
  const { run, mail, ingested } = report;
  const longestAgent = Math.max(0, ...day.agents.map((a) => a.agent.length));
  const sheet = await book.sheet('Summary', {
    widths: [Math.min(Math.max(summaryWidths[0] ?? 26, longestAgent + 2), 40), ...summaryWidths.slice(1)],
    landscape: true,
  });
  // The Summary is small: every row waits for the output, if it must.
  const row = async (values: CellInput[], styles: number[], height?: number) => {
    await sheet.row(values, styles, height ? { height } : undefined);
  };
  const localSerial = (instant: string | Date) =>
    wallTimeSerial(instantToIso(new Date(instant).getTime(), config.timeZone)) ?? null;

  const when = run.intradayTime ? `, ${run.intradayTime.slice(0, 2)}:${run.intradayTime.slice(2)}` : '';
  await row([`Charlie intraday report — ${longDate(run.date)}${when}`], [style.title], 24);
  sheet.skip();
  const detail = (label: string, value: CellInput, valueStyle = 0) => row([label, value], [style.label, valueStyle]);
  await detail('Business date', wallTimeSerial(`${run.date}T00:00:00`) ?? run.date, style.detailDate);
  await detail('Run', run.intradayTime ? `Intraday, the day so far at ${when.slice(2)}` : 'Daily, the whole day');
  await detail('Generated at', localSerial(report.generatedAt), style.detailDatetime);
  await detail('Time zone', config.timeZone);
  await detail('Execution', run.executionId);
  await detail(
    'Sources',
    `${ingested.length} files ingested · mailbox: ${mail.messagesSeen} messages, ${mail.messagesMatched} matched, ` +
      `${mail.messagesIgnored} ignored, ${mail.attachmentsStored} attachments stored, ${mail.attachmentsAlreadyStored} already stored · ` +
      `agent inbox: ${mail.agentFiles} files`,
  );
  const tabOf = (type: string) => config.exports.find((spec) => spec.type === type)?.tab ?? type;
  await detail(
    'Missing exports',
    day.missing.length > 0 ? day.missing.map(tabOf).join(', ') : 'none',
    day.missing.length > 0 ? style.missingText : 0,
  );
  await detail(
    'Late exports',
    day.late.length > 0
      ? `${day.late.map(tabOf).join(', ')} (no data in the last ${config.workbook.lateAfterMinutes} minutes before the newest export)`
      : 'none',
    day.late.length > 0 ? style.lateText : 0,
  );
  sheet.skip();

  if (day.alerts) {
    await writeAlerts(row, day.alerts);
    sheet.skip();
  }

  await row(['Exports'], [style.section]);
  await row(
    exportHeaders,
    exportHeaders.map((_, i) => (i < 2 || i === 4 ? style.header : style.headerRight)),
    30,
  );
  const counts = ['read', 'inserted', 'updated', 'unchanged', 'stale', 'rejected', 'blank'] as const;
  for (const type of day.types) {
    const status = day.missing.includes(type.type) ? 'Missing' : day.late.includes(type.type) ? 'Late' : 'OK';
    const statusStyle = status === 'Missing' ? style.missing : status === 'Late' ? style.late : style.ok;
    const more = continuations.get(type.type) ?? [];
    const tabs =
      more.length === 0
        ? type.tab
        : `${type.tab}, continues on ${more[0]}${more.length > 1 ? ` to ${more[more.length - 1]}` : ''}`;
    await row(
      [
        type.type,
        tabs,
        type.rows,
        type.lastExportAt ? localSerial(type.lastExportAt) : null,
        status,
        type.files,
        ...counts.map((k) => type.ingest[k]),
      ],
      [
        0,
        more.length === 0 ? 0 : style.wrapped,
        style.number,
        style.datetime,
        statusStyle,
        ...counts.map(() => style.number),
        style.number,
      ],
      more.length === 0 ? undefined : 15 * Math.ceil(tabs.length / ((summaryWidths[1] ?? 22) - 2)),
    );
  }
  const newest = day.types.reduce<string | undefined>(
    (latest, t) =>
      t.lastExportAt && (!latest || Date.parse(t.lastExportAt) > Date.parse(latest)) ? t.lastExportAt : latest,
    undefined,
  );
  const sum = (pick: (t: DayContent['types'][number]) => number) => day.types.reduce((total, t) => total + pick(t), 0);
  await row(
    [
      'Total',
      null,
      sum((t) => t.rows),
      newest ? localSerial(newest) : null,
      null,
      sum((t) => t.files),
      ...counts.map((k) => sum((t) => t.ingest[k])),
    ],
    [
      style.totalLabel,
      style.totalLabel,
      style.totalNumber,
      style.totalDatetime,
      style.totalLabel,
      ...counts.map(() => style.totalNumber),
      style.totalNumber,
    ],
  );
  sheet.skip();

  await row(
    ['Volume by hour', 'Handle (interactions handled) where the export has it, else rows'],
    [style.section, style.note],
  );
  const hourHeader = ['Hour', ...day.types.map((t) => t.tab), 'Total'];
  await row(
    hourHeader,
    hourHeader.map((_, i) => (i === 0 ? style.header : style.headerRight)),
    30,
  );
  const firstHourRow = sheet.rowNumber + 1;
  for (const [i, entry] of day.hourly.entries()) {
    const values = day.types.map((t) => entry.volumes[t.type] ?? 0);
    await row(
      [hourRange(entry, day.hourly[i + 1]), ...values, values.reduce((a, b) => a + b, 0)],
      [0, ...values.map(() => style.volume), style.volume],
    );
  }
  const lastHourRow = sheet.rowNumber;
  const dayTotals = day.types.map((t) => day.hourly.reduce((total, h) => total + (h.volumes[t.type] ?? 0), 0));
  await row(
    ['Total', ...dayTotals, dayTotals.reduce((a, b) => a + b, 0)],
    [style.totalLabel, ...dayTotals.map(() => style.totalNumber), style.totalNumber],
  );
  const dataBars = [...day.types.keys(), day.types.length].map((i) => ({
    range: { firstRow: firstHourRow, firstColumn: i + 2, lastRow: lastHourRow, lastColumn: i + 2 },
    color: dataBarColor,
  }));
  sheet.skip();

  await row(
    [
      'Agents',
      'Avg handle: per call and dial handled · from dials, Avg talk: per interaction with talk, Avg hold: per hold, ' +
        'Avg ACW: per interaction with ACW · percentages of logged-in time',
    ],
    [style.section, style.note],
  );
  const agentHeaderRow = sheet.rowNumber + 1;
  await row(
    agentHeaders,
    agentHeaders.map((_, i) => (i === 0 ? style.header : style.headerRight)),
    30,
  );
  const agentStyles = [
    0,
    style.number,
    style.number,
    style.duration,
    style.duration,
    style.number,
    style.duration,
    style.duration,
    style.duration,
    style.percent,
    style.percent,
  ];
  for (const { agent, kpis } of day.agents) {
    await row([agent, ...kpiCells(kpis)], agentStyles);
  }
  const lastAgentRow = sheet.rowNumber;
  await row(
    ['All agents', ...kpiCells(day.everyone)],
    [
      style.totalLabel,
      style.totalNumber,
      style.totalNumber,
      style.totalDuration,
      style.totalDuration,
      style.totalNumber,
      style.totalDuration,
      style.totalDuration,
      style.totalDuration,
      style.totalPercent,
      style.totalPercent,
    ],
  );
  await sheet.end({
    autoFilter: { firstRow: agentHeaderRow, firstColumn: 1, lastRow: lastAgentRow, lastColumn: agentHeaders.length },
    dataBars,
  });
}

/** The Summary's Alerts block: each rule, the completed hours that crossed it and the hours it recovered at. */
async function writeAlerts(
  row: (values: CellInput[], styles: number[], height?: number) => Promise<void>,
  alerts: AlertsStatus,
): Promise<void> {
  await row(
    ['Alerts', 'completed hours of each rule; an hour short of the minimum sample is neither'],
    [style.section, style.note],
  );
  const headers = ['Rule', 'Condition', 'Hours checked', 'Breached', 'Recovered at'];
  await row(
    headers,
    headers.map((_, i) => (i === 2 ? style.headerRight : style.header)),
    30,
  );
  for (const status of alerts.rules) {
    const breached = status.breached.map((h) => `${h.hour} (${formatValue(status.metric, h.value)})`).join(', ');
    await row(
      [
        status.rule,
        describeRule(status),
        status.evaluated,
        breached || 'none',
        status.recovered.map((h) => h.hour).join(', ') || null,
      ],
      [0, style.wrapped, style.number, breached ? style.missingText : style.wrapped, style.wrapped],
    );
  }
}

const problemWidths = [18, 48, 30, 36, 70];

/**
 * The Problems tab: files rejected whole, inputs kept aside, mail left out that looked like an
 * export, rejected rows counted by reason and where all of them are, then the first rejected
 * rows themselves (export, file, line, reason, the row as exported), filtered.
 */
async function writeProblems(
  book: XlsxWriter,
  config: Config,
  problems: RunProblems,
  quarantined: readonly QuarantineRecord[],
): Promise<void> {
  const sheet = await book.sheet('Problems', { widths: problemWidths, landscape: true });
  const row = async (values: CellInput[], styles: number[] = []) => {
    await sheet.row(values, styles);
  };
  const header = (names: string[], numeric: number[] = []) =>
    row(
      names,
      names.map((_, i) => (numeric.includes(i) ? style.headerRight : style.header)),
    );
  const section = async (title: string, note?: string) => {
    await row(note ? [title, note] : [title], [style.section, style.note]);
  };
  const localSerial = (instant: string) =>
    wallTimeSerial(instantToIso(Date.parse(instant), config.timeZone)) ?? instant;

  await row(['Problems'], [style.title]);
  await row(['What went wrong in this run: fix the cause, then rerun the day (README: Rerun a day).'], [style.note]);
  sheet.skip();

  if (problems.rejectedFiles.length > 0) {
    await section('Rejected files', 'read, but none of their rows stored');
    await header(['Export', 'File', 'Attachment', 'Message (origin)', 'Reason']);
    for (const file of problems.rejectedFiles) {
      const source = file.source;
      await row(
        [
          file.type,
          file.key,
          source?.attachmentName ?? null,
          source ? `${source.messageId} (${source.origin})` : null,
          file.reason,
        ],
        [0, 0, 0, 0, style.wrapped],
      );
    }
    sheet.skip();
  }

  if (quarantined.length > 0) {
    await section('Quarantined inputs', 'kept aside until released (execution input "release" with the source)');
    await header(['Stage', 'Source', 'Detail', 'Kept at', 'Reason']);
    for (const record of quarantined.slice(0, PROBLEM_LIMITS.tabRows)) {
      const detail = Object.entries(record.detail ?? {})
        .filter(([, value]) => value !== '')
        .map(([key, value]) => `${key}: ${value}`)
        .join(' · ');
      await row(
        [record.stage, record.source, detail || null, localSerial(record.at), record.reason],
        [0, style.wrapped, style.wrapped, style.datetime, style.wrapped],
      );
    }
    if (quarantined.length > PROBLEM_LIMITS.tabRows) {
      await row(
        [`${quarantined.length - PROBLEM_LIMITS.tabRows} more under quarantine/ in the data bucket`],
        [style.note],
      );
    }
    sheet.skip();
  }

  if (problems.suspiciousIgnored.length > 0) {
    await section('Mail left out', 'looked like an export but was not collected');
    await header(['Messages', 'Reason', 'Example', 'Subject', 'What to change'], [0]);
    for (const ignored of problems.suspiciousIgnored) {
      await row(
        [ignored.count, ignored.reason, ignored.example, ignored.subject, ignored.fix ?? null],
        [style.number, style.wrapped, style.wrapped, style.wrapped, style.wrapped],
      );
    }
    sheet.skip();
  }

  if (problems.rowCount === 0) {
    await sheet.end();
    return;
  }
  await section('Rejected rows by reason');
  await header(['Rows', 'Reason'], [0]);
  for (const { reason, count } of problems.reasons) await row([count, reason], [style.number, style.wrapped]);
  sheet.skip();

  await section('Rejects objects', 'every rejected row, with its line and reason, as CSV');
  await header(['Export', 'File', 'Rows', 'Object'], [2]);
  for (const object of problems.rejectsObjects) {
    await row([object.type, object.file, object.rows, object.uri], [0, 0, style.number, 0]);
  }
  sheet.skip();

  const shown = problems.rows.length;
  await section(
    'Rejected rows',
    shown < problems.rowCount
      ? `the first ${shown.toLocaleString('en-US')} of ${problems.rowCount.toLocaleString('en-US')}: the others are in the rejects objects above`
      : `all ${shown.toLocaleString('en-US')}`,
  );
  const headerRow = sheet.rowNumber + 1;
  await header(['Export', 'File', 'Line', 'Reason', 'Row as exported'], [2]);
  for (const rejected of problems.rows) {
    await row([rejected.type, rejected.file, rejected.line, rejected.reason, rejected.raw], [0, 0, style.count, 0, 0]);
  }
  await sheet.end({ autoFilter: { firstRow: headerRow, firstColumn: 1, lastRow: sheet.rowNumber, lastColumn: 5 } });
}

function kpiCells(kpis: DayContent['everyone']): CellInput[] {
  const duration = (ms: number | undefined) => (ms === undefined ? null : ms / msPerDay);
  return [
    kpis.calls,
    kpis.dials,
    duration(kpis.avgHandleMs),
    duration(kpis.avgTalkMs),
    kpis.holds,
    duration(kpis.avgHoldMs),
    duration(kpis.avgAcwMs),
    duration(kpis.loggedInMs),
    kpis.onQueue,
    kpis.interacting,
  ];
}

function longDate(date: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(new Date(`${date}T00:00:00Z`));
}

/**
 * `08:00–09:00`; `01:00–03:00` over the hour the clocks skip; `01:00–02:00 CDT` and
 * `01:00–02:00 CST` for the hour they repeat.
 */
function hourRange({ hour, zone }: HourlyVolume, next: HourlyVolume | undefined): string {
  const end = next && next.hour > hour + 1 ? next.hour : hour + 1;
  return `${pad(hour)}:00–${pad(end)}:00${zone ? ` ${zone}` : ''}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
