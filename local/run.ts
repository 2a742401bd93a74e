import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, defaultConfigPath, loadConfigFile } from '../functions/shared/config.ts';
import type { RowCounts } from '../functions/shared/contracts.ts';
import { logger } from '../functions/shared/observability.ts';
import { isDate } from '../functions/shared/time.ts';
import { type LocalRunResult, runLocally } from './local-run.ts';
import type { ExecutionEvent } from './pipeline.ts';

const usage = `Runs the Charlie Reporting workflow on this machine, against in-process emulators.

Usage: npm start -- [options]

  --date YYYY-MM-DD   business day (default: the day that has just ended in the configured time zone)
  --mailbox DIR       folder of .eml files served as the Graph mailbox (default: a generated sample day)
  --inbox DIR         folder of CSVs named <Type>__YYYY-MM-DD_HHMM.csv, pushed to the agent inbox
  --reports A,B       only collect and ingest these export types
  --no-deliver        build the workbook without emailing it
  --force             email even if the day was already delivered
  --config FILE       configuration file (default: ${defaultConfigPath})
  --out DIR           where the workbook and the delivered email are written (default: out)
  --serve             keep the emulators up after the run so the download link works; Ctrl-C stops
  --verbose           show the stages' JSON logs
  --help              this text
`;

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values } = args;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.date !== undefined && !isDate(values.date)) {
    process.stderr.write(`--date must be a date like 2026-03-09, not "${values.date}"\n`);
    return 2;
  }
  if (!values.verbose) logger.setLogLevel('SILENT');

  const config = loadConfigFile(values.config ?? defaultConfigPath);
  const reports = values.reports
    ?.split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const started = Date.now();
  const result = await runLocally({
    config,
    outDir: values.out ?? 'out',
    ...(values.date ? { date: values.date } : {}),
    ...(values.mailbox ? { mailboxDir: values.mailbox } : {}),
    ...(values.inbox ? { inboxDir: values.inbox } : {}),
    ...(reports ? { reports } : {}),
    ...(values['no-deliver'] ? { deliver: false } : {}),
    ...(values.force ? { force: true } : {}),
    keepRunning: values.serve === true,
    onStep: (message) => say(message),
    onEvent: progress(),
  });
  report(result, (Date.now() - started) / 1000);
  if (values.serve && result.execution.succeeded) {
    say('\nThe emulators stay up so the download link works. Press Ctrl-C to stop.');
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await result.stop();
  }
  return result.execution.succeeded ? 0 : 1;
}

function parse() {
  return parseArgs({
    options: {
      date: { type: 'string' },
      mailbox: { type: 'string' },
      inbox: { type: 'string' },
      reports: { type: 'string' },
      'no-deliver': { type: 'boolean' },
      force: { type: 'boolean' },
      config: { type: 'string' },
      out: { type: 'string' },
      serve: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

function say(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** One line per state as it finishes, and a running count of the files ingested. */
function progress(): (event: ExecutionEvent) => void {
  const entered = new Map<string, number>();
  let ingested = 0;
  return (event) => {
    if (event.type === 'StateEntered') entered.set(event.state.name, event.timestamp);
    if (event.type === 'MapIterationSucceeded') {
      ingested++;
      if (process.stdout.isTTY) process.stdout.write(`\r  ingesting… ${ingested} files`);
    }
    if (event.type === 'StateRetried') say(`  ${event.state.name}: retrying (attempt ${event.retry.attempt})`);
    if (event.type === 'StateFailed' && event.index === undefined) say(`✗ ${event.state.name}: ${event.Error}`);
    if (event.type === 'StateExited' && event.index === undefined) {
      const ms = event.timestamp - (entered.get(event.state.name) ?? event.timestamp);
      if (process.stdout.isTTY && event.state.name === 'IngestFiles') process.stdout.write('\r');
      say(
        `✓ ${event.state.name.padEnd(14)} ${String(ms).padStart(6)} ms${event.state.name === 'IngestFiles' ? `  (${ingested} files)` : ''}`,
      );
    }
  };
}

function report(result: LocalRunResult, seconds: number): void {
  const { execution, summary } = result;
  if (!execution.succeeded || !summary) {
    say(`\nThe run for ${result.date} failed: ${execution.error?.message ?? 'unknown error'}`);
    for (const path of result.emailPaths) say(`The failure notice sent to the admins: ${relative('.', path)}`);
    return;
  }
  const header: (keyof RowCounts)[] = ['read', 'inserted', 'updated', 'unchanged', 'stale', 'rejected', 'blank'];
  say(`\nBusiness day ${summary.date}  (execution ${summary.executionId.split(':').pop()})`);
  say(
    `Mail: ${summary.mail.messagesSeen} messages seen, ${summary.mail.messagesMatched} matched, ${summary.mail.messagesIgnored} ignored; ${summary.mail.attachmentsStored} attachments stored`,
  );
  say(`\n${'export'.padEnd(24)}${'rows'.padStart(7)}${header.map((h) => h.padStart(10)).join('')}`);
  for (const type of summary.types) {
    say(
      `${type.type.padEnd(24)}${String(type.rows).padStart(7)}${header.map((h) => String(type.ingest[h]).padStart(10)).join('')}`,
    );
  }
  say(`${'total'.padEnd(24)}${''.padStart(7)}${header.map((h) => String(summary.totals[h]).padStart(10)).join('')}`);
  if (summary.missing.length > 0) say(`Missing exports: ${summary.missing.join(', ')}`);
  say(
    `\nWorkbook: ${relative('.', result.workbookPath ?? '')}  (${summary.workbook.bytes} bytes; s3://${summary.workbook.bucket}/${summary.workbook.key})`,
  );
  const delivery = summary.delivery;
  if (delivery.link)
    say(`Download link (served by the local S3 emulator; add --serve to keep it up): ${delivery.link}`);
  if (delivery.sent) {
    say(`Email to ${delivery.recipients.join(', ')}${delivery.attached ? ', workbook attached' : ''}`);
  } else {
    say(`No email sent: ${delivery.reason ?? 'delivery off'}`);
  }
  for (const path of result.emailPaths) say(`Delivered email: ${relative('.', path)}`);
  say(`Done in ${seconds.toFixed(1)} s.`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
