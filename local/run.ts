import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { describeIgnored } from '../functions/collect/manifest.ts';
import { centerDataDir, chooseConfig, defaultCentersDir } from '../functions/common/centers.ts';
import { type Config, ConfigError, defaultConfigPath } from '../functions/common/config.ts';
import type { RowCounts } from '../functions/common/contracts.ts';
import { logger } from '../functions/common/observability.ts';
import { isDate } from '../functions/common/time.ts';
import { type LocalConsole, startLocalConsole } from './console/server.ts';
import { KeptDirError } from './kept.ts';
import {
  type DayRunResult,
  dayRow,
  type GraphEndpoint,
  type LocalProgress,
  type LocalRunResult,
  runLocally,
  type ScheduledRun,
  scheduledRuns,
  serveKeptStack,
} from './local-run.ts';
import type { ExecutionEvent } from './pipeline.ts';
import { isScenario, type ScenarioName, scenarios } from './sample-day.ts';
import type { TeamsPost } from './teams-receiver.ts';

const usage = `Runs the Charlie Reporting workflow on this machine, against in-process emulators.

Usage: npm start -- [options]

  --date YYYY-MM-DD   business day (default: the day that has just ended in the configured time zone)
  --from D1 --to D2   every day from D1 to D2 in order, each as the schedule runs it (the next
                      morning at schedule.daily), on one stack, the sample mail arriving as the days pass
  --intraday          with --from/--to, also the configured intraday runs of each day
  --data DIR          keep the stack (DynamoDB, S3, sent mail, executions) in DIR between runs
  --redrive NAME      with --data: resume a failed execution at the state that failed
  --undo SOURCE       take a file (raw key) or an email (message id) out of the day (repeatable)
  --release ID|all    read a quarantined input of the day again (repeatable)
  --scenario NAME     the generated day: sample (12 agents, hourly intervals; the default) or large
                      (1,000 agents, 15-minute intervals, zipped exports, about 2.8 million rows read)
  --mailbox DIR       folder of .eml files collected as saved mail (default: a generated sample day)
  --inbox DIR         folder of CSVs named <Type>__YYYY-MM-DD_HHMM.csv, pushed to the agent inbox
  --reports A,B       only collect and ingest these export types
  --no-deliver        build the workbook without emailing it
  --force             email even if the day was already delivered
  --sharepoint        also copy the workbook to a fake SharePoint library (the configuration's
                      sharepoint section, or an example site); on by itself when the section is there
  --config FILE       configuration file (default: ${defaultConfigPath})
  --center NAME       run that center, configured in ${defaultCentersDir}/NAME.json (or --centers DIR/NAME.json);
                      its stack is kept in DIR/NAME under --data DIR, its files written to out/NAME.
                      Where ${defaultCentersDir}/ exists, a run names its center
  --out DIR           where the workbook and the delivered email are written (default: out)
  --serve             keep the emulators up after the run so the download link works, and serve the
                      web console (URL and dev users printed; with --data, over every day the
                      folder keeps); Ctrl-C stops
  --verbose           show the stages' JSON logs
  --help              this text

Collecting a real Graph mailbox instead of the fake one (each also read from the variable
in brackets; the configuration fills in what is not given):

  --graph-base-url URL       Graph root, e.g. https://graph.microsoft.com/v1.0      [CHARLIE_GRAPH_BASE_URL]
  --authority-host URL       Entra ID host, e.g. https://login.microsoftonline.com  [CHARLIE_AUTHORITY_HOST]
  --tenant ID                directory (tenant) id                                  [CHARLIE_TENANT]
  --client-id ID             application (client) id                                [CHARLIE_CLIENT_ID]
  --client-secret S          client secret                                          [CHARLIE_CLIENT_SECRET]
  --client-certificate FILE  or a certificate (PEM) ...                             [CHARLIE_CLIENT_CERTIFICATE]
  --client-key FILE          ... and its private key (PEM)                          [CHARLIE_CLIENT_KEY]
  --graph-mailbox UPN        the mailbox                                            [CHARLIE_GRAPH_MAILBOX]
`;

/** Flags naming a Graph endpoint, and the variables they may come from instead. */
const graphFlags = {
  'graph-base-url': 'CHARLIE_GRAPH_BASE_URL',
  'authority-host': 'CHARLIE_AUTHORITY_HOST',
  tenant: 'CHARLIE_TENANT',
  'client-id': 'CHARLIE_CLIENT_ID',
  'client-secret': 'CHARLIE_CLIENT_SECRET',
  'client-certificate': 'CHARLIE_CLIENT_CERTIFICATE',
  'client-key': 'CHARLIE_CLIENT_KEY',
  'graph-mailbox': 'CHARLIE_GRAPH_MAILBOX',
} as const;

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
  for (const flag of ['date', 'from', 'to'] as const) {
    const value = values[flag];
    if (value !== undefined && !isDate(value)) {
      process.stderr.write(`--${flag} must be a date like 2026-03-09, not "${value}"\n`);
      return 2;
    }
  }
  if ((values.from === undefined) !== (values.to === undefined) || (values.from && values.date)) {
    process.stderr.write('A range needs both --from and --to (and no --date)\n');
    return 2;
  }
  if (values.from && values.to && values.from > values.to) {
    process.stderr.write(`--from ${values.from} is after --to ${values.to}\n`);
    return 2;
  }
  if (values.scenario !== undefined && !isScenario(values.scenario)) {
    process.stderr.write(`--scenario must be one of ${Object.keys(scenarios).join(', ')}, not "${values.scenario}"\n`);
    return 2;
  }
  if (values.redrive && !values.data) {
    process.stderr.write('--redrive needs --data DIR: the kept stack the execution ran on\n');
    return 2;
  }
  if (!values.verbose) logger.setLogLevel('SILENT');

  const { config, center } = chooseConfig({ center: values.center, centersDir: values.centers, config: values.config });
  // Centers never share a local stack or an output folder.
  const dataDir = values.data === undefined ? undefined : centerDataDir(values.data, center);
  const outDir = values.out ?? (center === undefined ? 'out' : join('out', center));
  // How `charlie … --local` names this stack.
  const localArgs = `--local ${values.data}${center === undefined ? '' : ` --center ${center}`}`;
  let graph: GraphEndpoint | undefined;
  try {
    graph = graphEndpoint(values, config);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const reports = values.reports
    ?.split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const started = Date.now();
  const runs =
    values.from && values.to ? scheduledRuns(config, values.from, values.to, values.intraday === true) : undefined;
  // Ctrl-C stops the emulators, closing their files, before the process ends.
  const interrupted = new AbortController();
  const interrupt = () => interrupted.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const runsNothing =
    values.serve && dataDir && !values.date && !runs && !values.redrive && !values.undo && !values.release;
  if (runsNothing) return serveOnly(config, dataDir, localArgs, interrupted.signal);
  let result: LocalRunResult;
  try {
    result = await runLocally({
      config,
      outDir,
      signal: interrupted.signal,
      ...(values.date ? { date: values.date } : {}),
      ...(runs ? { runs, onRun: runProgress(runs.length) } : {}),
      ...(dataDir ? { dataDir } : {}),
      ...(values.redrive ? { redrive: values.redrive } : {}),
      ...(values.undo?.length ? { undo: values.undo } : {}),
      ...(values.release?.length ? { release: values.release } : {}),
      ...(values.scenario ? { sampleScale: scenarios[values.scenario as ScenarioName] } : {}),
      ...(values.mailbox ? { mailboxDir: values.mailbox } : {}),
      ...(graph ? { graph } : {}),
      ...(values.inbox ? { inboxDir: values.inbox } : {}),
      ...(reports ? { reports } : {}),
      ...(values['no-deliver'] ? { deliver: false } : {}),
      ...(values.force ? { force: true } : {}),
      ...(values.sharepoint ? { sharepoint: true } : {}),
      keepRunning: values.serve === true,
      onStep: (message) => say(message),
      onEvent: progress(),
      onProgress: stageProgress(),
    });
  } catch (error) {
    if (!interrupted.signal.aborted) throw error;
    say('\nStopped: the emulators closed their files; the run in flight did not finish.');
    return 130;
  }
  if (interrupted.signal.aborted) {
    say('\nStopped: the emulators closed their files.');
    return 130;
  }
  if (runs) reportRange(result.runs);
  else report(result, (Date.now() - started) / 1000);
  if (dataDir) say(`The stack is kept in ${dataDir}: charlie status ${localArgs} lists its executions.`);
  const succeeded = result.runs.every((run) => run.execution.succeeded);
  if (!values.serve && succeeded)
    say('Web console: add --serve to keep the stack up and sign in to it (npm start -- --serve).');
  if (values.serve && succeeded) {
    const console = await startLocalConsole({ config, ...result });
    announceConsole(console);
    say('\nThe emulators stay up so the download link and the console work. Press Ctrl-C to stop.');
    await new Promise<void>((resolve) => {
      if (interrupted.signal.aborted) resolve();
      interrupted.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await console.close();
    await result.stop();
  }
  process.off('SIGINT', interrupt);
  process.off('SIGTERM', interrupt);
  return succeeded ? 0 : 1;
}

function parse() {
  return parseArgs({
    options: {
      date: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      intraday: { type: 'boolean' },
      data: { type: 'string' },
      redrive: { type: 'string' },
      undo: { type: 'string', multiple: true },
      release: { type: 'string', multiple: true },
      scenario: { type: 'string' },
      mailbox: { type: 'string' },
      inbox: { type: 'string' },
      reports: { type: 'string' },
      'no-deliver': { type: 'boolean' },
      force: { type: 'boolean' },
      sharepoint: { type: 'boolean' },
      config: { type: 'string' },
      center: { type: 'string' },
      centers: { type: 'string' },
      out: { type: 'string' },
      serve: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      ...(Object.fromEntries(Object.keys(graphFlags).map((flag) => [flag, { type: 'string' }])) as Record<
        keyof typeof graphFlags,
        { type: 'string' }
      >),
    },
    strict: true,
    allowPositionals: false,
  });
}

/** The Graph endpoint the flags (or their variables) name, the configuration filling in the rest; none if they name none. */
function graphEndpoint(
  values: Partial<Record<keyof typeof graphFlags, string | undefined>>,
  config: Config,
): GraphEndpoint | undefined {
  const given = (flag: keyof typeof graphFlags) => values[flag] ?? (process.env[graphFlags[flag]] || undefined);
  if (!Object.keys(graphFlags).some((flag) => given(flag as keyof typeof graphFlags) !== undefined)) return undefined;
  const secret = given('client-secret');
  const certificate = given('client-certificate');
  const key = given('client-key');
  if (!secret && !(certificate && key)) {
    throw new Error(
      'Collecting from a Graph endpoint needs --client-secret (or CHARLIE_CLIENT_SECRET), or --client-certificate and --client-key',
    );
  }
  return {
    graphBaseUrl: given('graph-base-url') ?? config.mailbox.graphBaseUrl,
    authorityHost: given('authority-host') ?? config.mailbox.authorityHost,
    tenantId: given('tenant') ?? config.mailbox.tenantId,
    clientId: given('client-id') ?? config.mailbox.clientId,
    user: given('graph-mailbox') ?? config.mailbox.user,
    credential: secret
      ? { clientSecret: secret }
      : {
          certificatePem: readFileSync(certificate as string, 'utf8'),
          privateKeyPem: readFileSync(key as string, 'utf8'),
        },
  };
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
    if (event.type === 'StateEntered' && event.state.name === 'IngestFiles') ingested = 0;
    if (event.type === 'MapIterationSucceeded' && event.parentState.name === 'IngestFiles') ingested++;
    if (event.type === 'StateRetried') say(`  ${event.state.name}: retrying (attempt ${event.retry.attempt})`);
    if (event.type === 'StateFailed' && event.index === undefined) say(`✗ ${event.state.name}: ${event.Error}`);
    if (event.type === 'StateExited' && event.index === undefined) {
      const ms = event.timestamp - (entered.get(event.state.name) ?? event.timestamp);
      say(
        `✓ ${event.state.name.padEnd(14)} ${String(ms).padStart(6)} ms${event.state.name === 'IngestFiles' ? `  (${ingested} files)` : ''}`,
      );
    }
  };
}

/**
 * Writing the sample day, collecting its mail and ingesting its files, on stderr: a line
 * rewritten in place on a terminal, else a line at every tenth of the way.
 */
function stageProgress(): (progress: LocalProgress) => void {
  const nouns = { generating: 'emails written', collecting: 'emails collected', ingesting: 'files ingested' };
  let shownTenth = -1;
  return ({ stage, done, total, rows }) => {
    const line = `  ${stage}… ${done}/${total || '?'} ${nouns[stage]}${rows === undefined ? '' : `, ${rows.toLocaleString('en-US')} rows read`}`;
    const last = done === total;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line}${last ? '\n' : ''}`);
      return;
    }
    const tenth = total > 0 ? Math.floor((done * 10) / total) : 0;
    if (done === 1) shownTenth = -1;
    if (tenth === shownTenth && !last) return;
    shownTenth = tenth;
    process.stderr.write(`${line}\n`);
  };
}

/** `--data DIR --serve` alone: the kept stack up over its history, nothing run, until Ctrl-C. */
async function serveOnly(config: Config, dataDir: string, localArgs: string, signal: AbortSignal): Promise<number> {
  const served = await serveKeptStack({ config, dataDir, signal });
  const console = await startLocalConsole({ config, ...served });
  say(`The stack kept in ${dataDir} is up: its download links work, and charlie link ${localArgs} signs new ones.`);
  say(`S3 ${served.stack.endpoints.s3}, DynamoDB ${served.stack.endpoints.dynamodb}, links ${served.links.baseUrl}`);
  announceConsole(console);
  say('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await console.close();
  await served.stop();
  return 0;
}

/** The console's address and who may sign in to it. */
function announceConsole(console: LocalConsole): void {
  say(`\nWeb console: ${console.url}  (API ${console.apiUrl}, sign-in at ${console.issuer})`);
  for (const user of console.users) {
    say(`  ${user.email.padEnd(22)} ${user.groups.join(', ') || 'no role'}`);
  }
  say(`  password: ${console.password}`);
}

/** A line as each run of a range starts, and its outcome as it ends. */
function runProgress(total: number): (run: ScheduledRun, result?: DayRunResult) => void {
  let done = 0;
  return (run, result) => {
    if (!result) {
      say(
        `\n[${done + 1}/${total}] ${run.date}${run.intraday ? ' intraday' : ''} run at ${new Date(run.at).toISOString()}`,
      );
      return;
    }
    done++;
    const row = dayRow(result);
    say(
      `[${done}/${total}] ${row.day}: ${row.status}, ${row.rows} rows, ${row.rejects} rejects, delivered ${row.delivered}`,
    );
  };
}

/** The summary table of a range: per run, status, rows, rejects and delivered. */
function reportRange(runs: DayRunResult[]): void {
  say(`\n${'day'.padEnd(17)}${'status'.padEnd(11)}${'rows'.padStart(8)}${'rejects'.padStart(9)}  delivered  execution`);
  for (const result of runs) {
    const row = dayRow(result);
    say(
      `${row.day.padEnd(17)}${row.status.padEnd(11)}${String(row.rows).padStart(8)}${String(row.rejects).padStart(9)}  ${row.delivered.padEnd(9)}  ${result.name}`,
    );
  }
}

function report(result: LocalRunResult, seconds: number): void {
  const { execution, summary } = result;
  if (!execution.succeeded || !summary) {
    say(`\nThe run for ${result.date} failed: ${execution.error?.message ?? 'unknown error'}`);
    for (const path of result.emailPaths) say(`The failure notice sent to the admins: ${relative('.', path)}`);
    for (const path of result.teamsPaths) say(`The failure card ${teamsDestination(path)}`);
    return;
  }
  const header: (keyof RowCounts)[] = ['read', 'inserted', 'updated', 'unchanged', 'stale', 'rejected', 'blank'];
  say(`\nBusiness day ${summary.date}  (execution ${summary.executionId.split(':').pop()})`);
  say(
    `Mail: ${summary.mail.messagesSeen} messages seen, ${summary.mail.messagesMatched} matched, ${summary.mail.messagesIgnored} ignored; ${summary.mail.attachmentsStored} attachments stored`,
  );
  for (const ignored of summary.mail.ignored) {
    const [line, example] = describeIgnored(ignored);
    say(`  ${line}\n      ${example}`);
  }
  if (summary.mail.ignoredReasonsNotListed > 0) {
    say(`  and ${summary.mail.ignoredReasonsNotListed} other reasons (in the run's manifest)`);
  }
  say(`\n${'export'.padEnd(24)}${'rows'.padStart(7)}${header.map((h) => h.padStart(10)).join('')}`);
  for (const type of summary.types) {
    say(
      `${type.type.padEnd(24)}${String(type.rows).padStart(7)}${header.map((h) => String(type.ingest[h]).padStart(10)).join('')}`,
    );
  }
  say(`${'total'.padEnd(24)}${''.padStart(7)}${header.map((h) => String(summary.totals[h]).padStart(10)).join('')}`);
  if (summary.missing.length > 0) say(`Missing exports: ${summary.missing.join(', ')}`);
  if (summary.undone.files > 0) {
    say(`Undone: ${summary.undone.files} files taken out, ${summary.undone.removed} rows removed`);
  }
  if (summary.quarantined.count > 0) {
    say(`Quarantined: ${summary.quarantined.count} inputs kept aside, the day went on without them`);
    for (const q of summary.quarantined.listed) say(`  ${q.stage}: ${q.source}: ${q.reason}`);
    say(`  Once mended, a rerun reads them again: charlie rerun --date ${summary.date} --release <source id> (or all)`);
  }
  say(
    `\n${summary.files} files ingested; their list: s3://${summary.manifest.bucket}/${summary.manifest.key}` +
      ` (largest state payload ${result.execution.largestPayload.bytes} bytes, at ${result.execution.largestPayload.state})`,
  );
  say(
    `\nWorkbook: ${relative('.', result.workbookPath ?? '')}  (${summary.workbook.bytes} bytes; s3://${summary.workbook.bucket}/${summary.workbook.key})`,
  );
  const delivery = summary.delivery;
  if (delivery.link)
    say(`Download link (the local link endpoint and S3 emulator; add --serve to keep them up): ${delivery.link}`);
  if (delivery.sent) {
    say(`Email to ${delivery.recipients.join(', ')}${delivery.attached ? ', workbook attached' : ''}`);
  } else {
    say(`No email sent: ${delivery.reason ?? 'delivery off'}`);
  }
  for (const path of result.emailPaths) say(`Delivered email: ${relative('.', path)}`);
  const copy = delivery.sharepoint;
  if (copy?.uploaded) {
    say(
      `Copied to SharePoint site ${copy.site}: ${copy.path} (${copy.bytes} bytes, ${copy.session ? 'upload session' : 'one PUT'})\n  ${copy.webUrl}`,
    );
    if (result.sharepointPath) say(`  in the fake library's folder: ${relative('.', result.sharepointPath)}`);
  } else if (copy) {
    say(`The copy to SharePoint failed (the email went out without it): ${copy.error}`);
  }
  const alerts = delivery.alerts;
  if (alerts?.messageId) {
    say(
      `Threshold alerts (${alerts.fired} breached hours, ${alerts.recovered} recoveries) emailed to ${alerts.recipients?.join(', ')}${alerts.teams ? ' and posted to Teams' : ''}`,
    );
  } else if (alerts) {
    say('Threshold alerts: nothing new to tell');
  }
  for (const path of result.teamsPaths) say(`Teams card ${teamsDestination(path)}`);
  const values = result.execution.metrics.flatMap((record) =>
    record._aws.CloudWatchMetrics.flatMap((set) => set.Metrics.map((metric) => metric.Name)),
  );
  say(
    `Metrics: ${values.length} values of ${new Set(values).size} metrics, in CloudWatch's embedded format: ${relative('.', result.metricsPath)}`,
  );
  say(`Done in ${seconds.toFixed(1)} s.`);
}

/** Where a recorded Teams post went, and where it is kept. */
function teamsDestination(path: string): string {
  const { url } = JSON.parse(readFileSync(path, 'utf8')) as TeamsPost;
  return `posted to ${url} (the local webhook receiver): ${relative('.', path)}`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof KeptDirError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
