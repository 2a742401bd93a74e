import MailComposer, { type MailComposerOptions } from 'nodemailer/lib/mail-composer';
import type { Config } from '../shared/config.ts';
import type { BuildResult, FailureInput, RowCounts } from '../shared/contracts.ts';
import { workbookName } from '../shared/keys.ts';
import { instantToIso } from '../shared/time.ts';

export const xlsxContentType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

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
  report: BuildResult;
  executionId: string;
  /** Presigned download link, sent always. */
  link: string;
  linkExpiresAt: Date;
  /** The workbook, when it is small enough to attach. */
  attachment?: Uint8Array;
  sentAt: Date;
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

/** The daily report email: a summary table, the download link and, when small enough, the workbook. */
export async function composeReportMessage(config: Config, message: ReportMessage): Promise<ComposedMessage> {
  const { date, report } = message;
  const { delivery, timeZone } = config;
  const subject = delivery.subject.replaceAll('{date}', date);
  const local = (iso: string | undefined) => (iso ? localTime(Date.parse(iso), timeZone) : '—');
  const expires = localTime(message.linkExpiresAt.getTime(), timeZone);
  const totalRows = report.types.reduce((sum, t) => sum + t.rows, 0);
  const ingestLine = countLabels.map(([key, label]) => `${report.totals[key]} ${label}`).join(', ');
  const missing = report.missing.length > 0 ? report.missing.join(', ') : 'none';
  const attachedNote = message.attachment
    ? `The workbook ${workbookName(date)} is attached.`
    : `The workbook is larger than ${formatBytes(delivery.attachMaxBytes)}, so it is not attached: use the link.`;

  const textTable = [
    ['Tab', 'Rows', 'Files', 'Last export'],
    ...report.types.map((t) => [
      t.tab,
      String(t.rows),
      String(t.files),
      t.rows > 0 ? local(t.lastExportAt) : 'MISSING',
    ]),
    ['Total', String(totalRows), String(report.types.reduce((sum, t) => sum + t.files, 0)), ''],
  ];
  const widths = textTable[0]?.map((_, i) => Math.max(...textTable.map((row) => row[i]?.length ?? 0))) ?? [];
  const text = [
    `Charlie intraday report for ${date}`,
    '',
    ...textTable.map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    ),
    '',
    `Missing exports: ${missing}`,
    `Rows ingested by this run: ${ingestLine}.`,
    '',
    `Download: ${message.link}`,
    `(the link works until ${expires})`,
    attachedNote,
    '',
    `Times are local to ${timeZone}. Execution: ${message.executionId}`,
  ].join('\n');

  const cell = 'style="padding:2px 8px;border:1px solid #ccc"';
  const numberCell = 'style="padding:2px 8px;border:1px solid #ccc;text-align:right"';
  const html = `<!doctype html>
<html><body style="font-family:Segoe UI,Arial,sans-serif;font-size:14px">
<p>Charlie intraday report for <strong>${escapeHtml(date)}</strong></p>
<table style="border-collapse:collapse">
<thead><tr><th ${cell}>Tab</th><th ${cell}>Rows</th><th ${cell}>Files</th><th ${cell}>Last export</th></tr></thead>
<tbody>
${report.types
  .map(
    (t) =>
      `<tr><td ${cell}>${escapeHtml(t.tab)}</td><td ${numberCell}>${t.rows}</td><td ${numberCell}>${t.files}</td><td ${cell}>${
        t.rows > 0 ? escapeHtml(local(t.lastExportAt)) : '<strong style="color:#c00000">MISSING</strong>'
      }</td></tr>`,
  )
  .join('\n')}
<tr><th ${cell}>Total</th><th ${numberCell}>${totalRows}</th><th ${numberCell}>${report.types.reduce((sum, t) => sum + t.files, 0)}</th><th ${cell}></th></tr>
</tbody></table>
<p>Missing exports: ${escapeHtml(missing)}</p>
<p>Rows ingested by this run: ${escapeHtml(ingestLine)}.</p>
<p><a href="${escapeHtml(message.link)}">Download the workbook</a> (the link works until ${escapeHtml(expires)}).<br>${escapeHtml(attachedNote)}</p>
<p style="color:#666;font-size:12px">Times are local to ${escapeHtml(timeZone)}. Execution: ${escapeHtml(message.executionId)}</p>
</body></html>`;

  const options: MailComposerOptions = {
    from: delivery.from,
    to: delivery.to,
    cc: delivery.cc,
    bcc: delivery.bcc,
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
  return { raw: await build(options), subject, to: delivery.to, cc: delivery.cc, bcc: delivery.bcc };
}

/** Tells the admins which execution failed, with the error, its cause and the execution input. */
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
  const text = [
    `The execution ${failure.executionId} failed (reported ${localTime(sentAt.getTime(), config.timeZone)}, ${config.timeZone}).`,
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
<html><body style="font-family:Segoe UI,Arial,sans-serif;font-size:14px">
<p>The execution <code>${escapeHtml(failure.executionId)}</code> failed (reported ${escapeHtml(localTime(sentAt.getTime(), config.timeZone))}, ${escapeHtml(config.timeZone)}).</p>
<p>Error: <strong>${escapeHtml(errorName)}</strong></p>
<p>Cause:</p><pre ${pre}>${escapeHtml(cause)}</pre>
<p>Execution input:</p><pre ${pre}>${escapeHtml(input)}</pre>
</body></html>`;
  const raw = await build({
    from: config.delivery.from,
    to: config.delivery.admins,
    subject,
    date: sentAt,
    text,
    html,
  });
  return { raw, subject, to: config.delivery.admins, cc: [], bcc: [] };
}

function build(options: MailComposerOptions): Promise<Buffer> {
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

function localTime(instantMs: number, timeZone: string): string {
  return instantToIso(instantMs, timeZone).slice(0, 16).replace('T', ' ');
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );
}
