import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type Config, loadConfigFile } from '../functions/common/config.ts';
import type { RunManifest } from '../functions/common/contracts.ts';
import { logger } from '../functions/common/observability.ts';
import { addDays, localToInstant } from '../functions/common/time.ts';
import { STAGE_KEYS, STAGES } from '../functions/stages.ts';
import { createApp } from '../lib/app.ts';
import { fromRoot } from '../lib/paths.ts';
import {
  type DayRunResult,
  type ExecutionSummary,
  type LocalProgress,
  runLocally,
  type ScheduledRun,
} from '../local/local-run.ts';
import { type SampleScale, scenarios } from '../local/sample-day.ts';
import type { LocalStack } from '../local/stack.ts';
import { awsPrices, pricesAsOf } from './aws-prices.ts';
import { emptyUsage, storedBytes, type Usage, UsageMeter } from './usage.ts';

/**
 * The cost model, measured: the sample day and the large day run on the local stack with
 * every request to S3, DynamoDB and SES counted, the execution's states and Lambda
 * invocations timed, the stages' logs and metrics counted; the resources that cost by the
 * month (alarms, dashboard, keys, secrets) read from the synthesized template; all priced
 * with AWS's public us-east-1 prices (bench/aws-prices.ts). Markdown on stdout.
 */

/** The repository's configuration with the row digest snapshot on: unchanged rows are decided without reading the table. */
const config: Config = { ...loadConfigFile(), rowDigests: { enabled: true } };
const date = '2026-03-09';
const daysPerMonth = 30;
/** Lambda's START, END and REPORT lines (with the X-Ray trace id) per invocation, bytes. */
const platformLogBytesPerInvocation = 420;
/** The run check is not run locally (it asks Step Functions for the executions): its invocation, assumed. */
const runCheckSeconds = 1;
const gb = 1024 ** 3;

/** What the synthesized stack holds that the model needs. */
interface Deployed {
  /** Memory (MB) and ephemeral storage (MB) of each stage's function. */
  functions: Record<string, { memoryMb: number; ephemeralMb: number; arm: boolean }>;
  alarms: number;
  dashboards: number;
  kmsKeys: number;
  /** Secrets the stack creates, and the mailbox secret it references by name. */
  secrets: number;
  schedules: number;
  /** Days kept: raw and rejected files, run records, workbooks, logs. */
  keepDays: { source: number; runs: number; reports: number; logs: number };
}

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

function deployed(config: Config): Deployed {
  const context = (JSON.parse(readFileSync(fromRoot('cdk.json'), 'utf8')) as { context: Record<string, unknown> })
    .context;
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const { stack } = createApp(config, { app });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const machine = ofType('AWS::StepFunctions::StateMachine')[0]?.[1];
  const substitutions = (machine?.Properties?.DefinitionSubstitutions ?? {}) as Record<
    string,
    { 'Fn::GetAtt'?: [string, string] }
  >;
  const stageOf: Record<string, string> = {
    CollectFunctionArn: 'collect',
    IngestFunctionArn: 'ingest',
    BuildFunctionArn: 'workbook',
    DeliverFunctionArn: 'deliver',
  };
  const functionProps = (logicalId: string) => {
    const props = (resources[logicalId]?.Properties ?? {}) as {
      MemorySize?: number;
      EphemeralStorage?: { Size?: number };
      Architectures?: string[];
    };
    return {
      memoryMb: props.MemorySize ?? 128,
      ephemeralMb: props.EphemeralStorage?.Size ?? 512,
      arm: props.Architectures?.includes('arm64') ?? false,
    };
  };
  const functions: Deployed['functions'] = {};
  for (const [name, value] of Object.entries(substitutions)) {
    const stage = stageOf[name];
    const logicalId = value['Fn::GetAtt']?.[0];
    if (stage && logicalId) functions[stage] = functionProps(logicalId);
  }
  // The run check: the function a schedule invokes.
  const schedules = ofType('AWS::Scheduler::Schedule');
  for (const [, schedule] of schedules) {
    const target = (schedule.Properties?.Target ?? {}) as { Arn?: { 'Fn::GetAtt'?: [string, string] } };
    const logicalId = target.Arn?.['Fn::GetAtt']?.[0];
    if (logicalId && resources[logicalId]?.Type === 'AWS::Lambda::Function') {
      functions['run-check'] = functionProps(logicalId);
    }
  }
  for (const stage of Object.values(stageOf)) {
    if (!functions[stage]) throw new Error(`The synthesized state machine does not name the ${stage} function`);
  }
  const logRetention = ofType('AWS::Logs::LogGroup').map(([, r]) => Number(r.Properties?.RetentionInDays ?? 0));
  return {
    functions,
    alarms: ofType('AWS::CloudWatch::Alarm').length,
    dashboards: ofType('AWS::CloudWatch::Dashboard').length,
    kmsKeys: ofType('AWS::KMS::Key').length,
    secrets: ofType('AWS::SecretsManager::Secret').length + 1,
    schedules: schedules.length,
    keepDays: {
      source: config.storage.keepDays,
      runs: 30,
      reports: config.storage.keepDays,
      logs: Math.max(...logRetention, 0),
    },
  };
}

/** One measured execution. */
interface MeasuredRun {
  label: string;
  usage: Usage;
  result: DayRunResult;
  /** The execution's wall time, Collect to the end. */
  seconds: number;
}

interface Measured {
  runs: MeasuredRun[];
  /** Bytes stored by the runs, by bucket prefix. */
  stored: Record<string, number>;
  manifest: RunManifest | undefined;
  seconds: number;
  /** Seconds writing the generated mailbox (before the first run). */
  generatingSeconds: number;
}

/** Runs `runs` on one fresh local stack, each execution's usage counted apart. */
async function measure(
  name: string,
  runs: ScheduledRun[],
  labels: string[],
  scale: SampleScale,
  runConfig: Config = config,
): Promise<Measured> {
  const meter = new UsageMeter();
  const measured: MeasuredRun[] = [];
  let stack: LocalStack | undefined;
  const out = mkdtempSync(join(tmpdir(), 'charlie-cost-'));
  const started = Date.now();
  let runStarted = started;
  const generating = { first: 0, last: 0 };
  const shown = progress(name);
  const result = await meter.captureLogs(() =>
    runLocally({
      config: runConfig,
      runs,
      sampleScale: scale,
      outDir: out,
      keepRunning: true,
      onStack: (s) => {
        stack = s;
        meter.attach(s);
      },
      onEvent: (event) => meter.onEvent(event),
      onProgress: (p) => {
        if (p.stage === 'generating') {
          generating.first ||= Date.now();
          generating.last = Date.now();
        }
        // The mailbox is written once, before the first execution starts: not the execution's time.
        if (p.stage === 'generating' && p.done === p.total) runStarted = Date.now();
        shown(p);
      },
      onRun: (run, done) => {
        if (!done) {
          meter.usage = emptyUsage();
          runStarted = Date.now();
          say(`${name}: ${labels[measured.length] ?? run.date} …`);
          return;
        }
        const summary = done.summary;
        if (!done.execution.succeeded || !summary) {
          throw new Error(`${name}: the run failed: ${done.execution.error?.message ?? 'unknown error'}`);
        }
        meter.takeMetrics(done.execution.metrics);
        const usage = meter.usage;
        usage.executions = 1;
        usage.rows = summary.totals;
        const seconds = (Date.now() - runStarted) / 1000;
        measured.push({ label: labels[measured.length] ?? run.date, usage, result: done, seconds });
      },
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const local = stack as LocalStack;
  const stored = {
    ...(await storedBytes(local, local.resources.dataBucket)),
    ...(await storedBytes(local, local.resources.reportsBucket)),
  };
  const first = measured[0]?.result.summary as ExecutionSummary;
  const object = await local.clients.s3.send(
    new GetObjectCommand({ Bucket: first.manifest.bucket, Key: first.manifest.key }),
  );
  const manifest = JSON.parse((await object.Body?.transformToString()) ?? '{}') as RunManifest;
  await result.stop();
  rmSync(out, { recursive: true, force: true });
  return { runs: measured, stored, manifest, seconds, generatingSeconds: (generating.last - generating.first) / 1000 };
}

function progress(name: string): (p: LocalProgress) => void {
  let tenth = -1;
  return ({ stage, done, total, rows }) => {
    const now = total > 0 ? Math.floor((done * 10) / total) : 0;
    if (done === 1) tenth = -1;
    if (now === tenth && done !== total) return;
    tenth = now;
    process.stderr.write(
      `  ${name}: ${stage}… ${done}/${total}${rows === undefined ? '' : `, ${rows.toLocaleString('en-US')} rows read`}\n`,
    );
  };
}

function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** The daily run of the day, as the schedule starts it (the next morning), and a rerun of it an hour later. */
function dailyAndRerun(): ScheduledRun[] {
  const at = localToInstant(`${addDays(date, 1)} ${config.schedule.daily}`, config.timeZone) as number;
  return [
    { date, at },
    { date, at: at + 3_600_000 },
  ];
}

/** Every hour on the hour from 01:00 to 23:00: the issue's "hourly intraday" center. */
const hourly = Array.from({ length: 23 }, (_, h) => `${String(h + 1).padStart(2, '0')}:00`);

/** Billable units of a run (or a day, or a month). */
interface Units {
  lambdaRequests: number;
  lambdaGbSeconds: number;
  ephemeralGbSeconds: number;
  transitions: number;
  readUnits: number;
  writeUnits: number;
  s3Tier1: number;
  s3Tier2: number;
  sesMessages: number;
  sesGb: number;
  logGb: number;
  traces: number;
}

function unitsOf(usage: Usage, deploy: Deployed): Units {
  let lambdaRequests = 0;
  let lambdaGbSeconds = 0;
  let ephemeralGbSeconds = 0;
  for (const [stage, lambda] of Object.entries(usage.lambda)) {
    const fn = deploy.functions[stage];
    if (!fn) continue;
    lambdaRequests += lambda.invocations;
    lambdaGbSeconds += (lambda.cpuMs / 1000) * (fn.memoryMb / 1024);
    ephemeralGbSeconds += (lambda.cpuMs / 1000) * (Math.max(0, fn.ephemeralMb - 512) / 1024);
  }
  // The run check after each scheduled run.
  const check = deploy.functions['run-check'];
  if (check) {
    lambdaRequests += usage.executions;
    lambdaGbSeconds += usage.executions * runCheckSeconds * (check.memoryMb / 1024);
  }
  const invocations = Object.values(usage.lambda).reduce((sum, l) => sum + l.invocations, 0) + usage.executions;
  return {
    lambdaRequests,
    lambdaGbSeconds,
    ephemeralGbSeconds,
    transitions: usage.transitions,
    readUnits: usage.dynamodb.readUnits,
    writeUnits: usage.dynamodb.writeUnits,
    s3Tier1: usage.s3.tier1,
    s3Tier2: usage.s3.tier2,
    sesMessages: usage.ses.messages,
    sesGb: usage.ses.bytes / gb,
    logGb: (usage.logBytes + usage.workflowLogBytes + invocations * platformLogBytesPerInvocation) / gb,
    traces: usage.executions,
  };
}

function addUnits(a: Units, b: Units, factor = 1): Units {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof Units)[]) sum[key] = a[key] + b[key] * factor;
  return sum;
}

const noUnits: Units = {
  lambdaRequests: 0,
  lambdaGbSeconds: 0,
  ephemeralGbSeconds: 0,
  transitions: 0,
  readUnits: 0,
  writeUnits: 0,
  s3Tier1: 0,
  s3Tier2: 0,
  sesMessages: 0,
  sesGb: 0,
  logGb: 0,
  traces: 0,
};

/** The cost of units, by service (USD). */
function priced(units: Units, arm: boolean): Record<string, number> {
  const p = awsPrices;
  return {
    Lambda:
      (units.lambdaRequests / 1e6) * p.lambda.perMillionRequests +
      units.lambdaGbSeconds * (arm ? p.lambda.perGbSecondArm : p.lambda.perGbSecondX86) +
      units.ephemeralGbSeconds * p.lambda.perGbSecondEphemeral,
    'Step Functions': (units.transitions / 1000) * p.stepFunctions.perThousandTransitions,
    DynamoDB:
      (units.readUnits / 1e6) * p.dynamodb.perMillionReadUnits +
      (units.writeUnits / 1e6) * p.dynamodb.perMillionWriteUnits,
    'S3 requests': (units.s3Tier1 / 1000) * p.s3.perThousandTier1 + (units.s3Tier2 / 1000) * p.s3.perThousandTier2,
    SES: (units.sesMessages / 1000) * p.ses.perThousandMessages + units.sesGb * p.ses.perGbAttachments,
    'CloudWatch Logs': units.logGb * p.cloudWatch.perGbIngested,
    'X-Ray': (units.traces / 1e6) * p.xRay.perMillionTracesRecorded,
  };
}

function total(costs: Record<string, number>): number {
  return Object.values(costs).reduce((a, b) => a + b, 0);
}

/**
 * An hourly intraday day of a day too large to run 24 times here, modelled from two measured
 * runs: the first run of the day (every row new) once, and for each intraday run at hour k, the
 * rerun of the whole day (every row already stored) scaled by the part of the day's files
 * (invocations, transitions) and bytes (everything else) received by then.
 */
function modelHourly(first: Usage, rerun: Usage, manifest: RunManifest, deploy: Deployed): Units {
  const files = manifest.files;
  const totalBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  const perFile = ['lambdaRequests', 'transitions', 'traces'] as const;
  let units = unitsOf(first, deploy);
  const rerunUnits = unitsOf(rerun, deploy);
  for (const time of hourly) {
    const at = localToInstant(`${date} ${time}`, config.timeZone) as number;
    const received = files.filter((f) => Date.parse(f.receivedAt) <= at);
    const byFiles = received.length / files.length;
    const byBytes = received.reduce((sum, f) => sum + f.bytes, 0) / totalBytes;
    const scaled = { ...noUnits };
    for (const key of Object.keys(scaled) as (keyof Units)[]) {
      scaled[key] = rerunUnits[key] * ((perFile as readonly string[]).includes(key) ? byFiles : byBytes);
    }
    // Every run is an execution, and delivers once (each intraday run sends its own workbook).
    scaled.traces = 1;
    scaled.sesMessages = rerunUnits.sesMessages > 0 ? rerunUnits.sesMessages : unitsOf(first, deploy).sesMessages;
    units = addUnits(units, scaled);
  }
  return units;
}

function usd(value: number): string {
  if (value === 0) return '$0';
  if (value < 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toFixed(2)}`;
}

function n(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function mb(bytes: number): string {
  return `${n(bytes / 1e6, 1)} MB`;
}

/**
 * This shared 2-core machine runs the large day several times slower than Lambda: the local
 * wrapper enforces each stage's timeout, so here every stage gets Lambda's longest (900 s),
 * and the large day's table compares each stage's time with its deployed timeout.
 */
const deployedTimeouts = Object.fromEntries(STAGE_KEYS.map((key) => [key, STAGES[key].timeoutSeconds]));
for (const key of STAGE_KEYS) (STAGES[key] as { timeoutSeconds: number }).timeoutSeconds = 900;

async function main(): Promise<void> {
  logger.setLogLevel('INFO');
  const deploy = deployed(config);
  const arm = deploy.functions.ingest?.arm ?? true;

  say('Sample day: the daily run, then the same day again');
  const sample = await measure('sample', dailyAndRerun(), ['daily run', 'rerun (all stored)'], scenarios.sample);
  say('Large day: the daily run, then the same day again');
  const large = await measure('large', dailyAndRerun(), ['daily run', 'rerun (all stored)'], scenarios.large);

  const [sampleFirst, sampleRerun] = sample.runs as [MeasuredRun, MeasuredRun];
  const [largeFirst, largeRerun] = large.runs as [MeasuredRun, MeasuredRun];
  const sampleModel = modelHourly(sampleFirst.usage, sampleRerun.usage, sample.manifest as RunManifest, deploy);
  const largeModel = modelHourly(largeFirst.usage, largeRerun.usage, large.manifest as RunManifest, deploy);

  const lines: string[] = [];
  const out = (line = '') => lines.push(line);
  out('## Cost');
  out();
  out(
    `What a day costs in AWS, counted on the local stack (\`npm run bench -- --only cost\`): the sample day (${scenarios.sample.agents} agents, hourly intervals) and the large day (${n(scenarios.large.agents)} agents, 15-minute intervals, zipped hourly exports of the day so far) run end to end, every S3, DynamoDB and SES request counted by middleware on the clients, DynamoDB units as dynalite reports them (\`ReturnConsumedCapacity\`), state transitions and Lambda invocations from the execution's events, log bytes and custom metrics from the stages' output, and the monthly resources from the synthesized template. The configuration is the repository's with \`rowDigests.enabled\` (ingest decides unchanged rows against the day's digest snapshot in S3, not by reading the table). Priced at AWS's public us-east-1 list prices as of ${pricesAsOf} (sources below), free tiers left out.`,
  );
  out();

  const monthOf = (units: Units) => total(priced(units, arm)) * daysPerMonth;
  const sampleDaily = unitsOf(sampleFirst.usage, deploy);
  const largeDaily = unitsOf(largeFirst.usage, deploy);
  out('### Per month (variable: what the runs cost)');
  out();
  out('| center | schedule | runs a day | per run | per day | per month | how |');
  out('|---|---|---:|---:|---:|---:|---|');
  const perRun = (units: Units, runs: number) => usd(total(priced(units, arm)) / runs);
  const dayRow = (center: string, schedule: string, runs: number, units: Units, how: string) =>
    out(
      `| ${center} | ${schedule} | ${runs} | ${perRun(units, runs)} | ${usd(total(priced(units, arm)))} | **${usd(monthOf(units))}** | ${how} |`,
    );
  const configured = `configured (daily ${config.schedule.daily}${config.schedule.intraday.length ? `, intraday ${config.schedule.intraday.join(' ')}` : ''})`;
  const configuredRuns = 1 + config.schedule.intraday.length;
  dayRow('sample', configured, configuredRuns, sampleDaily, 'measured');
  dayRow('sample', 'hourly intraday (01:00–23:00) + daily', 24, sampleModel, 'modelled from the two measured runs');
  dayRow('large', configured, configuredRuns, largeDaily, 'measured');
  dayRow('large', 'hourly intraday (01:00–23:00) + daily', 24, largeModel, 'modelled from the two measured runs');
  out();
  out(
    "A month is 30 days. An hourly day is modelled, not run (24 executions of the large day would take hours here): the first run of the day once, then for each intraday run the measured rerun of the whole day (every row already stored) scaled by the share of the day's files and bytes received by its time. Each intraday run re-reads the day so far, which is what the row digest snapshot makes cheap.",
  );
  out();

  out('### Per run, by service');
  out();
  const services = Object.keys(priced(noUnits, arm));
  out(`| run | ${services.join(' | ')} | total |`);
  out(`|---|${services.map(() => '---:').join('|')}|---:|`);
  const serviceRow = (label: string, units: Units) => {
    const costs = priced(units, arm);
    out(`| ${label} | ${services.map((s) => usd(costs[s] ?? 0)).join(' | ')} | ${usd(total(costs))} |`);
  };
  serviceRow('sample: daily run', sampleDaily);
  serviceRow('sample: rerun', unitsOf(sampleRerun.usage, deploy));
  serviceRow('sample: hourly day (24 runs, modelled)', sampleModel);
  serviceRow('large: daily run', largeDaily);
  serviceRow('large: rerun', unitsOf(largeRerun.usage, deploy));
  serviceRow('large: hourly day (24 runs, modelled)', largeModel);
  out();

  out('### The units counted');
  out();
  out(
    '| run | rows read | files | Lambda requests | Lambda GB-s | transitions | DynamoDB RRU | DynamoDB WRU | items read | S3 PUT/LIST | S3 GET | SES | log MB | wall time | CPU time |',
  );
  out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const unitRow = (label: string, run: MeasuredRun) => {
    const u = unitsOf(run.usage, deploy);
    const lambdas = Object.values(run.usage.lambda);
    const wall = lambdas.reduce((s, l) => s + l.wallMs, 0) / 1000;
    const cpu = lambdas.reduce((s, l) => s + l.cpuMs, 0) / 1000;
    out(
      `| ${label} | ${n(run.usage.rows.read)} | ${n(run.result.summary?.files ?? 0)} | ${n(u.lambdaRequests)} | ${n(u.lambdaGbSeconds, 1)} | ${n(u.transitions)} | ${n(u.readUnits)} | ${n(u.writeUnits)} | ${n(run.usage.dynamodb.itemReads)} | ${n(u.s3Tier1)} | ${n(u.s3Tier2)} | ${n(u.sesMessages)} | ${n(u.logGb * 1024, 2)} | ${n(wall, 1)} s | ${n(cpu, 1)} s |`,
    );
  };
  unitRow('sample: daily run', sampleFirst);
  unitRow('sample: rerun', sampleRerun);
  unitRow('large: daily run', largeFirst);
  unitRow('large: rerun', largeRerun);
  out();
  out(
    `Lambda time is the CPU time of the process while a stage ran (all threads: the stage, the AWS SDK, zlib, and the in-process emulators standing in for the network and the services), at each function's memory in the template (${Object.entries(
      deploy.functions,
    )
      .map(([stage, f]) => `${stage} ${f.memoryMb} MB`)
      .join(
        ', ',
      )}, ${arm ? 'arm64' : 'x86_64'}); wall time on this shared machine is shown but not priced. The run check after each scheduled run is not run locally: ${runCheckSeconds} s each is assumed. Log bytes are the stages' JSON lines at INFO (metrics included), ${platformLogBytesPerInvocation} bytes of Lambda's own lines per invocation, and Step Functions' execution log (level ALL, no execution data), each record sized as Step Functions writes it.`,
  );
  out();

  out('### The large day');
  out();
  const ingestWall = (run: MeasuredRun) => (run.usage.lambda.ingest?.wallMs ?? 0) / 1000;
  const unchangedReads = (run: MeasuredRun) =>
    run.usage.rows.unchanged > 0 ? run.usage.dynamodb.ingestItemReads / run.usage.rows.unchanged : 0;
  const unchangedUnits = (run: MeasuredRun) =>
    run.usage.rows.unchanged > 0 ? run.usage.dynamodb.ingestReadUnits / run.usage.rows.unchanged : 0;
  out('| figure | daily run | rerun | target |');
  out('|---|---:|---:|---|');
  out(
    `| end to end: the execution, collect to deliver (wall) | ${n(largeFirst.seconds, 0)} s | ${n(largeRerun.seconds, 0)} s | ≤ 5 minutes |`,
  );
  for (const stage of ['collect', 'ingest', 'workbook', 'deliver']) {
    const time = (run: MeasuredRun) => {
      const lambda = run.usage.lambda[stage];
      return lambda ? `${n(lambda.wallMs / 1000, 0)} s · ${n(lambda.cpuMs / 1000, 0)} s` : '—';
    };
    out(
      `| ${stage}: wall · CPU | ${time(largeFirst)} | ${time(largeRerun)} | its timeout: ${deployedTimeouts[stage] ?? '?'} s |`,
    );
  }
  out(`| rows read | ${n(largeFirst.usage.rows.read)} | ${n(largeRerun.usage.rows.read)} | |`);
  out(
    `| rows read per second of ingest | ${n(largeFirst.usage.rows.read / ingestWall(largeFirst))} | ${n(largeRerun.usage.rows.read / ingestWall(largeRerun))} | |`,
  );
  out(`| inserted / updated / unchanged / stale | ${countsOf(largeFirst)} | ${countsOf(largeRerun)} | |`);
  out(
    `| DynamoDB items read per unchanged row | ${n(unchangedReads(largeFirst), 3)} | ${n(unchangedReads(largeRerun), 3)} | ≤ 0.01 |`,
  );
  out(
    `| DynamoDB read units (ingest) per unchanged row | ${n(unchangedUnits(largeFirst), 3)} | ${n(unchangedUnits(largeRerun), 3)} | |`,
  );
  out(
    `| largest state input or output | ${n(largeFirst.result.execution.largestPayload.bytes)} B (${largeFirst.result.execution.largestPayload.state}) | ${n(largeRerun.result.execution.largestPayload.bytes)} B | ≤ 128 KB |`,
  );
  out();
  out(
    `Writing the large day's mailbox (${large.manifest?.files.length ?? 0} files, zipped) took ${n(large.generatingSeconds, 0)} s before the first run. Times are on a 2-core machine shared with other work (load average in the note below): wall time counts waiting for a core, CPU time does not; both count the in-process emulators.`,
  );
  out();

  out('### Storage (grows with the days kept)');
  out();
  const storageRows = [
    ['sample', sample],
    ['large', large],
  ] as const;
  out('| center | S3 per day | DynamoDB per day | logs per day | after 30 days, a month | kept days, a month |');
  out('|---|---:|---:|---:|---:|---:|');
  for (const [center, measured] of storageRows) {
    const first = measured.runs[0] as MeasuredRun;
    const s3Bytes = Object.values(measured.stored).reduce((a, b) => a + b, 0);
    const s3Kept = Object.entries(measured.stored).reduce(
      (sum, [prefix, bytes]) => sum + bytes * keptDays(prefix, deploy),
      0,
    );
    const items = first.result.summary?.types.reduce((s, t) => s + t.rows, 0) ?? 0;
    const itemBytes = first.usage.dynamodb.itemsWritten
      ? first.usage.dynamodb.itemBytesWritten / first.usage.dynamodb.itemsWritten + 100
      : 0;
    const tableBytes = items * itemBytes;
    const logBytes = unitsOf(first.usage, deploy).logGb * gb;
    const month = (bytes: number) => (bytes / gb) * awsPrices.s3.perGbMonth;
    const after30 =
      month(s3Bytes * 30) +
      ((tableBytes * 30) / gb) * awsPrices.dynamodb.perGbMonth +
      ((logBytes * 30) / gb) * awsPrices.cloudWatch.perGbStoredMonth;
    const kept =
      month(s3Kept) +
      ((tableBytes * deploy.keepDays.source) / gb) * awsPrices.dynamodb.perGbMonth +
      ((logBytes * deploy.keepDays.logs) / gb) * awsPrices.cloudWatch.perGbStoredMonth;
    out(`| ${center} | ${mb(s3Bytes)} | ${mb(tableBytes)} | ${mb(logBytes)} | ${usd(after30)} | ${usd(kept)} |`);
  }
  out();
  out(
    `S3 holds each day's files as CSV (raw/, ${deploy.keepDays.source} days: \`storage.keepDays\`), run records (runs/, ${deploy.keepDays.runs} days) and the workbooks (${deploy.keepDays.reports} days); DynamoDB keeps each stored row ${deploy.keepDays.source} days (its TTL), sized from the items written plus 100 bytes of overhead each; logs are kept ${deploy.keepDays.logs} days. "Kept days" is the monthly storage bill once every prefix holds as many days as it keeps. A shorter \`storage.keepDays\` is what lowers it.`,
  );
  out();

  out('### Fixed (by the month, whatever the runs)');
  out();
  const metrics = new Set([...sample.runs, ...large.runs].flatMap((r) => [...r.usage.metrics]));
  const p = awsPrices;
  const fixed: [string, number, number][] = [
    [
      'CloudWatch custom metrics emitted (a metric is a name with its dimensions)',
      metrics.size,
      p.cloudWatch.perMetricMonth,
    ],
    ['CloudWatch alarms', deploy.alarms, p.cloudWatch.perAlarmMonth],
    ['CloudWatch dashboard', deploy.dashboards, p.cloudWatch.perDashboardMonth],
    ['KMS customer managed keys', deploy.kmsKeys, p.kms.perKeyMonth],
    [
      "Secrets Manager secrets (the stack's, and the mailbox secret it reads)",
      deploy.secrets,
      p.secretsManager.perSecretMonth,
    ],
  ];
  out('| resource | count | per month |');
  out('|---|---:|---:|');
  for (const [what, count, price] of fixed) out(`| ${what} | ${count} | ${usd(count * price)} |`);
  const fixedTotal = fixed.reduce((sum, [, count, price]) => sum + count * price, 0);
  out(`| **total** | | **${usd(fixedTotal)}** |`);
  out();
  out(
    `EventBridge Scheduler (${deploy.schedules} schedules), SNS, SQS and the Lambda URLs cost nothing at these volumes. The cheapest configuration is the default one: the daily run alone (\`schedule.intraday\` empty) — ${usd(monthOf(sampleDaily))} a month for the sample center, ${usd(monthOf(largeDaily))} for the large one, plus the fixed ${usd(fixedTotal)}, of which the custom metrics and the dashboard are most.`,
  );
  out();

  out('### Prices');
  out();
  out(`us-east-1, USD, list prices as of ${pricesAsOf}, free tiers left out (bench/aws-prices.ts):`);
  out();
  out(
    `- Lambda (arm64): $${p.lambda.perMillionRequests} per million requests, $${p.lambda.perGbSecondArm} per GB-second — ${p.lambda.url}`,
  );
  out(
    `- Step Functions (Standard): $${p.stepFunctions.perThousandTransitions} per 1,000 state transitions — ${p.stepFunctions.url}`,
  );
  out(
    `- DynamoDB on-demand: $${p.dynamodb.perMillionReadUnits} per million read request units, $${p.dynamodb.perMillionWriteUnits} per million write request units, $${p.dynamodb.perGbMonth} per GB-month — ${p.dynamodb.url}`,
  );
  out(
    `- S3 Standard: $${p.s3.perThousandTier1} per 1,000 PUT/COPY/POST/LIST, $${p.s3.perThousandTier2} per 1,000 GET and others, $${p.s3.perGbMonth} per GB-month — ${p.s3.url}`,
  );
  out(
    `- SES: $${p.ses.perThousandMessages} per 1,000 messages, $${p.ses.perGbAttachments} per GB of attachments — ${p.ses.url}`,
  );
  out(
    `- CloudWatch: $${p.cloudWatch.perMetricMonth} per custom metric-month, $${p.cloudWatch.perAlarmMonth} per alarm-month, $${p.cloudWatch.perDashboardMonth} per dashboard-month, $${p.cloudWatch.perGbIngested} per GB of logs ingested, $${p.cloudWatch.perGbStoredMonth} per GB-month stored — ${p.cloudWatch.url}`,
  );
  out(`- X-Ray: $${p.xRay.perMillionTracesRecorded} per million traces recorded — ${p.xRay.url}`);
  out(`- Secrets Manager: $${p.secretsManager.perSecretMonth} per secret-month — ${p.secretsManager.url}`);
  out(`- KMS: $${p.kms.perKeyMonth} per key-month — ${p.kms.url}`);
  out();
  out(
    `Load average when the runs ended: ${loadNow()}. Sample summary: ${n(sampleFirst.usage.rows.read)} rows read, ${n(sampleFirst.result.summary?.types.reduce((s, t) => s + t.rows, 0) ?? 0)} kept; large: ${n(largeFirst.usage.rows.read)} read, ${n(largeFirst.result.summary?.types.reduce((s, t) => s + t.rows, 0) ?? 0)} kept.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

function countsOf(run: MeasuredRun): string {
  const r = run.usage.rows;
  return `${n(r.inserted)} / ${n(r.updated)} / ${n(r.unchanged)} / ${n(r.stale)}`;
}

/** How many days the objects under a prefix are kept. */
function keptDays(prefix: string, deploy: Deployed): number {
  if (prefix === 'runs/') return deploy.keepDays.runs;
  if (prefix === 'reports/') return deploy.keepDays.reports;
  return deploy.keepDays.source;
}

function loadNow(): string {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');
}

await main();
