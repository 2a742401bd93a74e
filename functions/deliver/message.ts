import MailComposer, { type MailComposerOptions } from 'nodemailer/lib/mail-composer';
import { describeRule, firingLine, recoveryLine } from '../common/alerts.ts';
import type { Config } from '../common/config.ts';
import type {
  BuildResult,
  DayKpis,
  FailureInput,
  HourlyVolume,
  QuarantineSummary,
  RowCounts,
} from '../common/contracts.ts';
import { workbookName } from '../common/keys.ts';
import { dayHours, instantToIso } from '../common/time.ts';

export const xlsxContentType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** `intraday` while the day's collection window is still open (the day so far), else `daily`. */
export type ReportKind = 'daily' | 'intraday';

/** A MIME message ready for SES, with the recipients its envelope needs (Bcc is not in the headers). */
export interface ComposedMessage {
  raw: Buffer;
  subject: string;
  to: string[];
  cc: string[];
  bcc: string[];
}

export interface ReportMessage {
  date: string;
  kind: ReportKind;
  report: BuildResult & { quarantined?: QuarantineSummary };
  executionId: string;
  /** The download link, sent always. */
  link: string;
  linkExpiresAt: Date;
  /** The workbook, when it is small enough to attach. */
  attachment?: Uint8Array;
  sentAt: Date;
}

interface Audience {
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
}

/** Who gets a report: `delivery.intraday` for the day so far when configured, else `delivery.to/cc/bcc`. */
function audienceFor(config: Config, kind: ReportKind): Audience {
  const { delivery } = config;
  const intraday = kind === 'intraday' ? delivery.intraday : undefined;
  if (intraday) {
    return { to: intraday.to, cc: intraday.cc, bcc: intraday.bcc, subject: intraday.subject ?? delivery.subject };
  }
  return { to: delivery.to, cc: delivery.cc, bcc: delivery.bcc, subject: delivery.subject };
}

const countLabels: [keyof RowCounts, string][] = [
  ['read', 'read'],
  ['inserted', 'inserted'],
  ['updated', 'updated'],
  ['unchanged', 'unchanged'],
  ['stale', 'stale (older export)'],
  ['rejected', 'rejected'],
  ['blank', 'blank'],
];

const font = 'font-family:Segoe UI,Arial,Helvetica,sans-serif';
const cell = 'style="padding:3px 8px;border:1px solid #cccccc"';
const numberCell = 'style="padding:3px 8px;border:1px solid #cccccc;text-align:right"';

/**
 * The report email: the download link, the day's KPIs, rows per export type with the missing
 * ones, and an hour-by-hour chart; the workbook attached when small enough. The HTML is tables,
 * widths and inline styles only (no images, scripts or style sheets), so that Outlook, Gmail
 * and phones show it alike; the text part carries the same numbers.
 */
export async function composeReportMessage(config: Config, message: ReportMessage): Promise<ComposedMessage> {
  const { date, report, kind } = message;
  const { delivery, timeZone } = config;
  const audience = audienceFor(config, kind);
  const subject = audience.subject.replaceAll('{date}', date);
  const asOf = localTime(message.sentAt.getTime(), timeZone).slice(11);
  const heading =
    kind === 'intraday'
      ? `Charlie intraday report for ${date}, the day so far (as of ${asOf})`
      : `Charlie intraday report for ${date}`;
  const expires = localTime(message.linkExpiresAt.getTime(), timeZone);
  const missing = report.missing.length > 0 ? report.missing.join(', ') : 'none';
  const ingestLine = countLabels.map(([key, label]) => `${report.totals[key]} ${label}`).join(', ');
  const attachedNote = message.attachment
    ? `The workbook ${workbookName(date)} is attached.`
    : `The workbook is larger than ${formatBytes(delivery.attachMaxBytes)}, so it is not attached: use the link.`;
  const kpis = kpiLines(report.kpis);
  const summary = summaryRows(report, date, timeZone);
  const chart = hourlyChart(report, date, timeZone);
  const attention = attentionBlock(report);

  const text = [
    heading,
    '',
    `Download: ${message.link}`,
    `(the link works until ${expires})`,
    attachedNote,
    ...(attention ? ['', ...attentionText(attention)] : []),
    ...(kpis.length > 0 ? ['', ...textTable([['Key figures', ''], ...kpis], [false, true])] : []),
    '',
    ...textTable(summary, [false, true, true, false]),
    '',
    `Missing exports: ${missing}`,
    `Rows ingested by this run: ${ingestLine}.`,
    ...(chart ? ['', ...chartText(chart)] : []),
    '',
    `Times are local to ${timeZone}. Execution: ${message.executionId}`,
  ].join('\n');

  const section = (content: string) => `<tr><td style="padding:0 0 16px 0">${content}</td></tr>`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(subject)}</title></head>
<body style="margin:0;padding:0;background-color:#ffffff">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td align="center" style="padding:12px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:680px;${font};font-size:14px;color:#222222">
${section(`<p style="margin:0;font-size:16px"><strong>${escapeHtml(heading)}</strong></p>`)}
${section(`<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr><td bgcolor="#0b5cad" style="background-color:#0b5cad;padding:8px 16px"><a href="${escapeHtml(message.link)}" style="color:#ffffff;text-decoration:none;${font};font-size:14px"><strong>Download the workbook</strong></a></td></tr></table>
<p style="margin:6px 0 0 0;font-size:12px;color:#555555">The link works until ${escapeHtml(expires)}. ${escapeHtml(attachedNote)}</p>`)}
${attention ? section(attentionHtml(attention)) : ''}
${kpis.length > 0 ? section(htmlTable(['Key figures', ''], kpis, [false, true])) : ''}
${section(`${htmlTable(summary[0] ?? [], summary.slice(1), [false, true, true, false])}
<p style="margin:8px 0 0 0">Missing exports: ${escapeHtml(missing)}</p>
<p style="margin:4px 0 0 0">Rows ingested by this run: ${escapeHtml(ingestLine)}.</p>`)}
${chart ? section(chartHtml(chart)) : ''}
${section(`<p style="margin:0;color:#666666;font-size:12px">Times are local to ${escapeHtml(timeZone)}. Execution: ${escapeHtml(message.executionId)}</p>`)}
</table>
</td></tr></table>
</body></html>`;

  const options: MailComposerOptions = {
    from: delivery.from,
    to: audience.to,
    cc: audience.cc,
    bcc: audience.bcc,
    subject,
    date: message.sentAt,
    text,
    html,
    ...(message.attachment
      ? {
          attachments: [
            { filename: workbookName(date), content: Buffer.from(message.attachment), contentType: xlsxContentType },
          ],
        }
      : {}),
  };
  return { raw: await composeMime(options), subject, to: audience.to, cc: audience.cc, bcc: audience.bcc };
}

export interface MissingExportsAlert {
  date: string;
  report: BuildResult;
  executionId: string;
  sentAt: Date;
}

/** Tells the admins that a finished day has export types with no rows, and where to look. */
export async function composeMissingExportsAlert(config: Config, alert: MissingExportsAlert): Promise<ComposedMessage> {
  const { date, report } = alert;
  const subject = `[${config.name}] missing exports for ${date}: ${report.missing.join(', ')}`;
  const summary = summaryRows(report, date, config.timeZone);
  const consoleUrl = executionConsoleUrl(alert.executionId);
  const lines = [
    `The workbook for ${date} was built without any rows of: ${report.missing.join(', ')}.`,
    `Check that Genesys still mails these exports to ${config.mailbox.user} (folder ${config.mailbox.folder}) and that their subjects and attachment names still match the configuration (exports[].match). Then rerun the day with force to send the complete workbook.`,
  ];
  const text = [
    ...lines,
    '',
    ...textTable(summary, [false, true, true, false]),
    '',
    `Execution: ${alert.executionId}`,
    ...(consoleUrl ? [consoleUrl] : []),
  ].join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="${font};font-size:14px;color:#222222">
${lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
${htmlTable(summary[0] ?? [], summary.slice(1), [false, true, true, false])}
<p>Execution: ${consoleUrl ? `<a href="${escapeHtml(consoleUrl)}">${escapeHtml(alert.executionId)}</a>` : escapeHtml(alert.executionId)}</p>
</body></html>`;
  const raw = await composeMime({
    from: config.delivery.from,
    to: config.delivery.admins,
    subject,
    date: alert.sentAt,
    text,
    html,
  });
  return { raw, subject, to: config.delivery.admins, cc: [], bcc: [] };
}

/** Tells the admins which execution failed, with a link to it in the console, the error, its cause and the input. */
export async function composeFailureMessage(
  config: Config,
  failure: FailureInput,
  sentAt: Date,
): Promise<ComposedMessage> {
  const executionName = failure.executionId.split(':').pop() ?? failure.executionId;
  const subject = `[${config.name}] run failed: ${executionName}`;
  const errorName = failure.error.Error ?? 'unknown error';
  const cause = readable(failure.error.Cause ?? '(no cause given)');
  const input = JSON.stringify(failure.input, null, 2) ?? 'undefined';
  const consoleUrl = executionConsoleUrl(failure.executionId);
  const text = [
    `The execution ${failure.executionId} failed (reported ${localTime(sentAt.getTime(), config.timeZone)}, ${config.timeZone}).`,
    ...(consoleUrl ? ['', `Open it in the console: ${consoleUrl}`] : []),
    '',
    `Error: ${errorName}`,
    '',
    'Cause:',
    cause,
    '',
    'Execution input:',
    input,
  ].join('\n');
  const pre = 'style="background:#f6f6f6;padding:8px;white-space:pre-wrap"';
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="${font};font-size:14px;color:#222222">
<p>The execution <code>${escapeHtml(failure.executionId)}</code> failed (reported ${escapeHtml(localTime(sentAt.getTime(), config.timeZone))}, ${escapeHtml(config.timeZone)}).</p>
${consoleUrl ? `<p><a href="${escapeHtml(consoleUrl)}">Open the execution in the Step Functions console</a></p>` : ''}
<p>Error: <strong>${escapeHtml(errorName)}</strong></p>
<p>Cause:</p><pre ${pre}>${escapeHtml(cause)}</pre>
<p>Execution input:</p><pre ${pre}>${escapeHtml(input)}</pre>
</body></html>`;
  const raw = await composeMime({
    from: config.delivery.from,
    to: config.delivery.admins,
    subject,
    date: sentAt,
    text,
    html,
  });
  return { raw, subject, to: config.delivery.admins, cc: [], bcc: [] };
}

/** The execution's page in the Step Functions console, in the region its ARN names. */
export function executionConsoleUrl(executionArn: string): string | undefined {
  const [prefix, , service, region] = executionArn.split(':');
  if (prefix !== 'arn' || service !== 'states' || !region) return undefined;
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

function summaryRows(report: BuildResult, date: string, timeZone: string): string[][] {
  // The time alone on the report's own date keeps the table narrow enough for a phone.
  const local = (iso: string | undefined) => {
    if (!iso) return '—';
    const time = localTime(Date.parse(iso), timeZone);
    return time.startsWith(`${date} `) ? time.slice(11) : time;
  };
  return [
    ['Tab', 'Rows', 'Files', 'Last export'],
    ...report.types.map((t) => [
      t.tab,
      String(t.rows),
      String(t.files),
      t.rows > 0 ? local(t.lastExportAt) : 'MISSING',
    ]),
    [
      'Total',
      String(report.types.reduce((sum, t) => sum + t.rows, 0)),
      String(report.types.reduce((sum, t) => sum + t.files, 0)),
      '',
    ],
  ];
}

/** Lines of each kind of problem the email shows; the rest is counted, and listed in the workbook. */
const attentionLinesPerKind = 5;

interface Attention {
  kinds: { title: string; lines: string[] }[];
  /** Where the details are. */
  pointer: string;
}

/**
 * What went wrong, kind by kind, with the same lines in the text and HTML parts: files rejected
 * whole, rows rejected by reason, quarantined inputs, mail that looked like an export but was
 * left out (with what to change), missing and late exports. Undefined when all is well.
 */
function attentionBlock(report: ReportMessage['report']): Attention | undefined {
  const { problems, quarantined } = report;
  const tabOf = (type: string) => report.types.find((t) => t.type === type)?.tab ?? type;
  const kinds: Attention['kinds'] = [];
  /** A kind with its first lines; `total` counts all its entries, listed or not. */
  const add = (title: string, lines: string[], total: number) => {
    const shown = lines.slice(0, attentionLinesPerKind);
    const more = total - shown.length;
    kinds.push({ title, lines: more > 0 ? [...shown, `… and ${more} more`] : shown });
  };
  const files = problems?.rejectedFiles;
  if (files && files.count > 0) {
    add(
      `${plural(files.count, 'file')} rejected whole`,
      files.listed.map((f) => `${f.file} (${tabOf(f.type)}): ${f.reason}`),
      files.count,
    );
  }
  const rows = problems?.rowRejects;
  if (rows && rows.count > 0) {
    const shown = rows.reasons.slice(0, attentionLinesPerKind);
    const others = rows.count - shown.reduce((sum, r) => sum + r.count, 0);
    kinds.push({
      title: `${plural(rows.count, 'row')} rejected`,
      lines: [...shown.map((r) => `${r.count} × ${r.reason}`), ...(others > 0 ? [`${others} × other reasons`] : [])],
    });
  }
  if (quarantined && quarantined.count > 0) {
    add(
      `${plural(quarantined.count, 'input')} quarantined (kept aside until released)`,
      quarantined.listed.map((q) => `${q.source}: ${q.reason}`),
      quarantined.count,
    );
  }
  const ignored = problems?.suspiciousIgnored;
  if (ignored && ignored.count > 0) {
    add(
      `${plural(ignored.count, 'message')} left out that looked like exports`,
      ignored.listed.map((i) => `${i.count} × ${i.reason}${i.fix ? ` → ${i.fix}` : ''}`),
      ignored.listed.length,
    );
  }
  if (report.missing.length > 0) {
    kinds.push({ title: `Missing exports (no rows): ${report.missing.map(tabOf).join(', ')}`, lines: [] });
  }
  if (report.late && report.late.length > 0) {
    kinds.push({ title: `Late exports (no recent data): ${report.late.map(tabOf).join(', ')}`, lines: [] });
  }
  for (const rule of report.alerts?.rules ?? []) {
    if (rule.breached.length === 0) continue;
    add(
      `Alert ${rule.rule}: ${describeRule(rule)}`,
      [
        ...rule.breached.map((hour) => firingLine(rule, hour)),
        ...rule.recovered.map((hour) => recoveryLine(rule, hour)),
      ],
      rule.breached.length + rule.recovered.length,
    );
  }
  if (kinds.length === 0) return undefined;
  const tab = problems || (quarantined && quarantined.count > 0) ? 'Problems' : 'Summary';
  return { kinds, pointer: `Details: the workbook's ${tab} tab.` };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function attentionText(attention: Attention): string[] {
  return [
    'NEEDS ATTENTION',
    ...attention.kinds.flatMap(({ title, lines }) => [`- ${title}`, ...lines.map((line) => `    ${line}`)]),
    attention.pointer,
  ];
}

function attentionHtml(attention: Attention): string {
  const kinds = attention.kinds
    .map(
      ({ title, lines }) =>
        `<li style="margin:0 0 4px 0">${escapeHtml(title)}${
          lines.length > 0
            ? `<ul style="margin:2px 0 0 0;padding-left:18px">${lines.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`
            : ''
        }</li>`,
    )
    .join('\n');
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td bgcolor="#fff4e5" style="background-color:#fff4e5;border-left:4px solid #c55a11;padding:8px 12px">
<p style="margin:0 0 6px 0;color:#8a3b00"><strong>Needs attention</strong></p>
<ul style="margin:0;padding-left:18px">
${kinds}
</ul>
<p style="margin:6px 0 0 0;font-size:12px;color:#555555">${escapeHtml(attention.pointer)}</p>
</td></tr></table>`;
}

/** Each figure named for what it is: what it is averaged over, and which exports it comes from (docs/figures.md). */
const kpiFormats: [keyof DayKpis, string, (value: number) => string][] = [
  ['callsHandled', 'Calls handled', String],
  ['dialsHandled', 'Dials handled', String],
  ['agents', 'Agents', String],
  ['avgHandleMs', 'Average handle time (calls and dials)', formatDuration],
  ['avgTalkMs', 'Average talk time (dials)', formatDuration],
  ['holds', 'Holds (dials)', String],
  ['avgHoldMs', 'Average hold time, per hold (dials)', formatDuration],
  ['avgAcwMs', 'Average after-call work (dials)', formatDuration],
  ['onQueuePct', 'On queue, of logged-in time', formatPercent],
  ['interactingPct', 'Interacting, of logged-in time', formatPercent],
];

/** The KPIs the build could compute, labelled; none for results built before KPIs existed. */
function kpiLines(kpis: DayKpis | undefined): string[][] {
  return kpiFormats.flatMap(([key, label, format]) => {
    const value = kpis?.[key];
    return typeof value === 'number' && Number.isFinite(value) ? [[label, format(value)]] : [];
  });
}

/** Colour-blind-safe colours (Okabe–Ito), one per export type in configuration order. */
const palette = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#7F7F7F', '#000000'];

interface Chart {
  series: { label: string; type: string; color: string }[];
  rows: { label: string; volumes: number[]; total: number }[];
  max: number;
}

/**
 * The day's hours as the clocks show them (23 to 25), from the first to the last with any
 * volume, for the types that have some; none without volumes. An hour the result does not list
 * shows as silent.
 */
function hourlyChart(report: BuildResult, date: string, timeZone: string): Chart | undefined {
  const hourly: HourlyVolume[] = report.hourly ?? [];
  const volume = (entry: HourlyVolume | undefined, type: string) => {
    const value = entry?.volumes[type];
    return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
  };
  const series = report.types
    .map((t, i) => ({ label: t.tab, type: t.type, color: palette[i % palette.length] ?? '#000000' }))
    .filter((s) => hourly.some((entry) => volume(entry, s.type) > 0));
  const key = ({ hour, zone }: { hour: number; zone?: string | undefined }) => `${hour} ${zone ?? ''}`;
  const byHour = new Map(hourly.map((entry) => [key(entry), entry]));
  const all = dayHours(date, timeZone).map((hour) => {
    const volumes = series.map((s) => volume(byHour.get(key(hour)), s.type));
    return { label: hourLabel(hour.hour, hour.zone), volumes, total: volumes.reduce((sum, v) => sum + v, 0) };
  });
  const first = all.findIndex((row) => row.total > 0);
  const last = all.findLastIndex((row) => row.total > 0);
  if (first < 0) return undefined;
  const rows = all.slice(first, last + 1);
  return { series, rows, max: Math.max(...rows.map((r) => r.total)) };
}

/** Segment widths in whole percent of the bar cell, rounded cumulatively so that they never exceed 100. */
export function barWidths(volumes: number[], max: number): number[] {
  let cumulative = 0;
  let drawn = 0;
  return volumes.map((volume) => {
    cumulative += volume;
    const edge = Math.round((cumulative / max) * 100);
    const width = edge - drawn;
    drawn = edge;
    return width;
  });
}

const chartTitle = 'Volume by hour';
const chartNote = 'handled interactions, or rows for exports without a Handle column; local time';

function chartHtml(chart: Chart): string {
  // Names in a legend that wraps, colours over the number columns: narrow enough for a phone.
  const swatch = (color: string) => `<span style="color:${color}">&#9632;</span>`;
  const legend = chart.series
    .map((s) => `<span style="white-space:nowrap">${swatch(s.color)}&nbsp;${escapeHtml(s.label)}</span>`)
    .join(' &nbsp; ');
  const head = chart.series
    .map(
      (s) =>
        `<th align="right" valign="bottom" title="${escapeHtml(s.label)}" style="padding:2px 0 2px 6px;font-weight:normal">${swatch(s.color)}</th>`,
    )
    .join('');
  const rows = chart.rows
    .map((row) => {
      const widths = barWidths(row.volumes, chart.max);
      const segments = chart.series
        .map((s, i) => {
          const width = widths[i] ?? 0;
          return width > 0
            ? `<td width="${width}%" height="12" bgcolor="${s.color}" style="background-color:${s.color};height:12px;font-size:1px;line-height:1px">&nbsp;</td>`
            : '';
        })
        .join('');
      const rest = 100 - widths.reduce((sum, w) => sum + w, 0);
      const filler =
        rest > 0
          ? `<td width="${rest}%" height="12" style="height:12px;font-size:1px;line-height:1px">&nbsp;</td>`
          : '';
      const bar = `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>${segments}${filler}</tr></table>`;
      const numbers = row.volumes.map((v) => `<td align="right" style="padding:1px 0 1px 6px">${v}</td>`).join('');
      return `<tr><td width="44" style="padding:1px 8px 1px 0;white-space:nowrap">${escapeHtml(row.label)}</td><td width="60%" style="padding:1px 0">${bar}</td>${numbers}</tr>`;
    })
    .join('\n');
  return `<p style="margin:0 0 6px 0"><strong>${chartTitle}</strong> <span style="color:#666666;font-size:12px">(${chartNote})</span></p>
<p style="margin:0 0 6px 0;font-size:12px">${legend}</p>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="${font};font-size:12px;color:#222222">
<tr><th align="left" valign="bottom" style="padding:2px 8px 2px 0;font-weight:normal;color:#444444">Hour</th><th>&nbsp;</th>${head}</tr>
${rows}
</table>`;
}

/** The chart's numbers as a text table, each hour with a bar of # scaled like the HTML bars. */
function chartText(chart: Chart): string[] {
  const barLength = 30;
  const table = [
    ['Hour', ...chart.series.map((s) => s.label), ''],
    ...chart.rows.map((row) => [
      row.label,
      ...row.volumes.map(String),
      '#'.repeat(Math.round((row.total / chart.max) * barLength)),
    ]),
  ];
  return [`${chartTitle} (${chartNote})`, ...textTable(table, [false, ...chart.series.map(() => true), false])];
}

function textTable(rows: string[][], rightAligned: boolean[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((value, i) => (rightAligned[i] ? value.padStart(widths[i] ?? 0) : value.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function htmlTable(head: string[], rows: string[][], rightAligned: boolean[]): string {
  const headCells = head.map((h) => `<th ${cell} align="left">${escapeHtml(h)}</th>`).join('');
  const bodyRows = rows
    .map(
      (row) =>
        `<tr>${row
          .map((value, i) => {
            const content = value === 'MISSING' ? '<strong style="color:#c00000">MISSING</strong>' : escapeHtml(value);
            return `<td ${rightAligned[i] ? numberCell : cell}>${content}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  return `<table cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;${font};font-size:14px">
<tr>${headCells}</tr>
${bodyRows}
</table>`;
}

export function composeMime(options: MailComposerOptions): Promise<Buffer> {
  // The message is built from the strings and buffers given here, never from files or URLs.
  return new MailComposer({ ...options, disableFileAccess: true, disableUrlAccess: true }).compile().build();
}

/** A Lambda failure's Cause is JSON (errorType, errorMessage, trace): shown indented when it is. */
function readable(cause: string): string {
  try {
    return JSON.stringify(JSON.parse(cause), null, 2);
  } catch {
    return cause;
  }
}

/** `08:00`; `01:00 CDT` and `01:00 CST` for the hour that repeats when the clocks go back. */
function hourLabel(hour: number, zone: string | undefined): string {
  return `${String(hour).padStart(2, '0')}:00${zone ? ` ${zone}` : ''}`;
}

function localTime(instantMs: number, timeZone: string): string {
  return instantToIso(instantMs, timeZone).slice(0, 16).replace('T', ' ');
}

/** m:ss, or h:mm:ss from an hour on. */
function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** DayKpis percentages are 0–100. */
function formatPercent(value: number): string {
  return `${value.toFixed(1)}%`;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );
}
