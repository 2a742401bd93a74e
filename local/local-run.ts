import { randomBytes, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { mapPool } from '../functions/collect/concurrency.ts';
import { createGraphMailSource, type GraphMailSource } from '../functions/collect/graph.ts';
import { resolveRun } from '../functions/collect/run.ts';
import type { Config, SharePointConfig } from '../functions/common/config.ts';
import type {
  CollectOutput,
  DeliveryResult,
  MailSummary,
  ObjectRef,
  QuarantineSummary,
  RunInput,
  TypeSummary,
  UndoneSummary,
} from '../functions/common/contracts.ts';
import type { GraphCredential } from '../functions/common/graph/credential.ts';
import { addDays, localToInstant, previousLocalDate } from '../functions/common/time.ts';
import type { DeliverDeps } from '../functions/deliver/deliver.ts';
import { createSharePointUploader } from '../functions/deliver/sharepoint.ts';
import type { MailForDay } from './console/executions.ts';
import { fakeGraphAccess, fakeMailboxOf, loadMailboxDir, startFakeGraph } from './graph-server.ts';
import {
  type ExecutionRecord,
  type ExecutionRecords,
  inMemoryExecutions,
  type KeptDir,
  KeptDirError,
  openKeptDir,
} from './kept.ts';
import { startLinkServer } from './link-server.ts';
import { type ExecutionEvent, type PipelineOptions, type PipelineResult, runPipeline } from './pipeline.ts';
import { type SampleScale, scenarios, writeSampleMailbox } from './sample-day.ts';
import { type LocalStack, localCredentials, startLocalStack } from './stack.ts';
import { startTeamsReceiver, type TeamsPost } from './teams-receiver.ts';

export interface LocalRunOptions {
  config: Config;
  /** Business date; default: the day that has just ended in the configured time zone. */
  date?: string;
  /**
   * The runs to make, in order, on one stack, each its own execution, instead of one run for
   * `date` now: a range of days as the schedule runs them (see scheduledRuns).
   */
  runs?: ScheduledRun[];
  /** A folder keeping the stack's state between runs (local/kept.ts); none: a stack that ends with the run. */
  dataDir?: string;
  /** Resumes this failed execution of the kept stack (its name) at the state that failed, instead of a new run. */
  redrive?: string;
  /** A folder of .eml files put under the saved-mail prefix and collected as saved mail, as in AWS. */
  mailboxDir?: string;
  /** A Graph endpoint (a tenant, a national cloud, a stand-in) collected instead of a generated sample day served by the fake Graph. */
  graph?: GraphEndpoint;
  /** A folder of CSVs named `<Type>__YYYY-MM-DD_HHMM.csv`, pushed to the agent inbox. */
  inboxDir?: string;
  /** The size of the generated sample day (default: the `sample` scenario). */
  sampleScale?: SampleScale;
  reports?: string[];
  deliver?: boolean;
  force?: boolean;
  /** Files to take out of the day (RunInput.undo). */
  undo?: string[];
  /** Quarantined inputs to read again (RunInput.release). */
  release?: string[];
  outDir: string;
  /** Keep the local stack running (for the download link) until the caller stops it. */
  keepRunning?: boolean;
  /**
   * Copy each workbook to a fake SharePoint library, as `sharepoint` configures it (with no such
   * section, `exampleSharePoint`); on by itself when the configuration has the section.
   */
  sharepoint?: boolean;
  now?: () => number;
  onEvent?: (event: ExecutionEvent) => void;
  onStep?: (message: string) => void;
  /** Told of the local stack once its emulators are up, before anything runs on it. */
  onStack?: (stack: LocalStack) => void;
  /** Told as the sample day is written, its mail collected and its files ingested. */
  onProgress?: (progress: LocalProgress) => void;
  /** Aborted (Ctrl-C), the emulators stop and close their files, and no further run starts. */
  signal?: AbortSignal;
  /** Told as each run starts and ends. */
  onRun?: (run: ScheduledRun, result?: DayRunResult) => void;
}

/** How far a run has come: files (or emails) done of those there are, and for ingest, the rows read so far. */
export interface LocalProgress {
  stage: 'generating' | 'collecting' | 'ingesting';
  done: number;
  total: number;
  rows?: number;
}

/** One run of a range: the day, the instant the schedule starts it, and whether it is an intraday run. */
export interface ScheduledRun {
  date: string;
  /** Epoch ms: the run's clock, and the newest receipt time of the sample mail it finds. */
  at: number;
  intraday?: boolean;
}

/** Where and as whom to read Graph mail; the folder is the configuration's. */
export type GraphEndpoint = Pick<
  Config['mailbox'],
  'graphBaseUrl' | 'authorityHost' | 'tenantId' | 'clientId' | 'user'
> & {
  credential: GraphCredential;
};

/** One execution of a local run. */
export interface DayRunResult {
  date: string;
  /** The execution's name, as `charlie status --local` lists it. */
  name: string;
  intradayTime?: string;
  execution: PipelineResult;
  /** The execution's output, when it succeeded. */
  summary?: ExecutionSummary;
  workbookPath?: string;
  emailPaths: string[];
  /** The Teams posts of the run, as the local webhook receiver took them (with `teams` configured). */
  teamsPaths: string[];
  /** The metrics the stages flushed, one EMF line each, as the functions' logs would hold them. */
  metricsPath: string;
  /** The workbook's copy in the fake SharePoint library's folder, when it was uploaded. */
  sharepointPath?: string;
}

/** The last run's result at the top, as for a single run, and every run in `runs`. */
export interface LocalRunResult extends DayRunResult {
  runs: DayRunResult[];
  /** Stops the emulators when the run was asked to keep them up. */
  stop(): Promise<void>;
  stack: LocalStack;
  /** The local download-link endpoint and its key, for further runs on the same stack. */
  links: DeliverDeps['links'];
  /** Where the stack's executions are recorded (the kept folder, or memory). */
  records: ExecutionRecords;
  /** The mail a further run of a day on this stack collects: the generated sample's, or none. */
  mailFor: MailForDay;
}

/** The state machine's output (its last Pass state). */
export interface ExecutionSummary {
  date: string;
  executionId: string;
  reports: string[];
  types: TypeSummary[];
  totals: TypeSummary['ingest'];
  missing: string[];
  workbook: { bucket: string; key: string; bytes: number };
  /** Files ingested by the run; their list is in the manifest. */
  files: number;
  /** What taking out the day's excluded files removed. */
  undone: UndoneSummary;
  /** The day's inputs kept aside, with the ids `release` takes. */
  quarantined: QuarantineSummary;
  /** The run's file lists, in S3. */
  manifest: ObjectRef;
  mail: MailSummary;
  delivery: DeliveryResult;
}

/**
 * The runs of the days from `from` to `to` as the schedule makes them: each day's daily run at
 * the configured time the next morning, and with `intraday`, the day's intraday runs before it.
 */
export function scheduledRuns(config: Config, from: string, to: string, intraday: boolean): ScheduledRun[] {
  const runs: ScheduledRun[] = [];
  const at = (date: string, time: string) => localToInstant(`${date} ${time}`, config.timeZone) as number;
  for (let date = from; date <= to; date = addDays(date, 1)) {
    if (intraday) for (const time of config.schedule.intraday) runs.push({ date, at: at(date, time), intraday: true });
    runs.push({ date, at: at(addDays(date, 1), config.schedule.daily) });
  }
  return runs;
}

/**
 * The whole job on this machine: emulators (kept in `dataDir`, or for this run only), a Graph
 * mailbox on loopback, the state machine run locally once per run, and the workbooks and
 * delivered emails written to `outDir`.
 */
export async function runLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const { config } = options;
  const now = options.now ?? Date.now;
  const step = options.onStep ?? (() => undefined);
  const { kept, work, stack, sent, stopAll, stop, links, records, teams } = await openLocalStack(options);

  try {
    const sharepoint =
      options.sharepoint || config.sharepoint
        ? await serveSharePoint(
            config,
            kept ? join(kept.dir, 'sharepoint') : join(options.outDir, 'sharepoint'),
            stack.clients.s3,
          )
        : undefined;
    if (sharepoint) {
      stopAll.push(sharepoint.stop);
      step(`Workbooks are copied to a fake SharePoint library, kept in ${sharepoint.dir}`);
    }
    options.onStack?.(stack);
    let graphMail: Parameters<typeof runPipeline>[0]['mail'];
    if (options.graph) {
      const { credential, ...endpoint } = options.graph;
      graphMail = createGraphMailSource({ mailbox: { ...config.mailbox, ...endpoint }, credential });
      step(`Collecting the Graph mailbox ${endpoint.user}/${config.mailbox.folder} at ${endpoint.graphBaseUrl}`);
    }
    const sampleMail = !options.graph && !options.mailboxDir && !options.inboxDir;
    if (options.mailboxDir) {
      const pushed = await pushSavedMail(stack, config, options.mailboxDir);
      step(
        `Put ${pushed} .eml files from ${options.mailboxDir} under s3://${stack.resources.dataBucket}/${config.mailbox.savedMailPrefix} (saved mail)`,
      );
    }
    if (options.inboxDir) {
      const pushed = await pushInbox(stack, config, options.inboxDir);
      step(
        `Pushed ${pushed} files from ${options.inboxDir} to s3://${stack.resources.dataBucket}/${config.agentInbox.prefix}`,
      );
    }

    const runs = options.runs ?? [{ date: options.date ?? previousLocalDate(now(), config.timeZone), at: now() }];
    const redriven = options.redrive ? failedExecution(kept, options.redrive) : undefined;
    const results: DayRunResult[] = [];
    const redrivenRun: ScheduledRun | undefined = redriven && {
      date: resolveRun(redriven.input, redriven.executionId, config, Date.parse(redriven.startedAt)).date,
      at: now(),
    };
    for (const run of redrivenRun ? [redrivenRun] : runs) {
      if (options.signal?.aborted) break;
      options.onRun?.(run);
      // A scheduled run's clock starts at its scheduled instant; a single run keeps the caller's.
      const begun = Date.now();
      const clock = options.runs ? () => run.at + (Date.now() - begun) : now;
      let mail = graphMail;
      if (sampleMail) {
        const scale = options.sampleScale ?? scenarios.sample;
        const folder = `${kept?.mailboxDir(run.date) ?? join(work, 'mailbox', run.date)}${scaleSuffix(scale)}`;
        const served = await serveSampleDay(config, run, folder, scale, options.onProgress);
        stopAll.push(served.stop);
        mail = served.mail;
        step(`Sample mail of ${run.date} received by ${new Date(run.at).toISOString()}: ${served.count} emails`);
      }
      // A scheduled run's input is the schedule's; the day follows from its time, as in AWS.
      const input: RunInput = redriven?.input ?? {
        ...(options.runs
          ? { scheduledTime: new Date(run.at).toISOString(), ...(run.intraday ? { intraday: true } : {}) }
          : { date: run.date }),
        ...(options.reports ? { reports: options.reports } : {}),
        ...(options.deliver === false ? { deliver: false } : {}),
        ...(options.force ? { force: true } : {}),
        ...(options.undo ? { undo: options.undo } : {}),
        ...(options.release ? { release: options.release } : {}),
      };
      const executionId =
        redriven?.executionId ??
        `arn:aws:states:us-east-1:000000000000:execution:charlie-local:${run.date}-${randomUUID().slice(0, 8)}`;
      const name = executionId.split(':').pop() as string;
      // A redriven execution keeps its start, as in AWS.
      const startedAt = redriven?.startedAt ?? new Date(clock()).toISOString();
      records.saveExecution({ executionId, name, input, status: 'RUNNING', startedAt });
      const execution = await runPipeline({
        config,
        stack,
        mail,
        links,
        ...(sharepoint ? { sharepoint: sharepoint.uploader } : {}),
        ...(teams ? { teams: { webhookUrl: async () => teams.url } } : {}),
        input,
        executionId,
        now: clock,
        ...(redriven?.failedState ? { redrive: redriven.failedState } : {}),
        ...ingestProgress(options),
      }).catch((error: unknown) => {
        if (options.signal?.aborted) return undefined;
        throw error;
      });
      // Stopped (Ctrl-C), the execution is recorded as AWS records an execution stopped by hand.
      if (!execution || options.signal?.aborted) {
        records.saveExecution({
          executionId,
          name,
          input,
          status: 'ABORTED',
          startedAt,
          stoppedAt: new Date(clock()).toISOString(),
        });
        throw new Error(`The run of ${run.date} was stopped before it finished`);
      }
      records.saveExecution({
        executionId,
        name,
        input,
        status: execution.succeeded ? 'SUCCEEDED' : 'FAILED',
        startedAt,
        stoppedAt: new Date(clock()).toISOString(),
        ...(execution.succeeded ? { output: execution.output } : {}),
        ...(execution.error ? { error: execution.error } : {}),
        ...(execution.failedState ? { failedState: execution.failedState } : {}),
      });
      const result = await writeDayRun(
        stack,
        options.outDir,
        run.date,
        name,
        execution,
        sent.splice(0),
        kept,
        teams?.posts.splice(0) ?? [],
      );
      const copy = result.summary?.delivery.sharepoint;
      if (sharepoint && copy?.uploaded) {
        const file = sharepoint.graph.sharepoint?.files().find((f) => f.path === copy.path);
        if (file) result.sharepointPath = join(sharepoint.dir, file.site, file.library, ...file.path.split('/'));
      }
      results.push(result);
      options.onRun?.(run, result);
    }
    if (!options.keepRunning) await stop();
    else announceServing(kept, stack, links);
    return {
      ...(results.at(-1) as DayRunResult),
      runs: results,
      stop: options.keepRunning ? stop : async () => undefined,
      stack,
      links,
      records,
      mailFor: sampleMail
        ? sampleMailFor(config, kept, work)
        : async () => ({ mail: graphMail, stop: async () => undefined }),
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** The emulators (kept in `dataDir`, or in a folder of their own), the link endpoint, and how to stop them. */
async function openLocalStack(options: Pick<LocalRunOptions, 'config' | 'dataDir' | 'now' | 'signal'>) {
  const { config } = options;
  const now = options.now ?? Date.now;
  const kept = options.dataDir ? openKeptDir(options.dataDir) : undefined;
  const work = mkdtempSync(join(tmpdir(), 'charlie-local-'));
  const stack = await (kept
    ? startLocalStack(kept.stackDir, { keep: true })
    : startLocalStack(join(work, 'stack'))
  ).catch((error: unknown) => {
    kept?.release();
    rmSync(work, { recursive: true, force: true });
    throw error;
  });
  const sent: Buffer[] = [];
  captureSentMail(stack, sent);
  const records: ExecutionRecords = kept ?? inMemoryExecutions();
  const stopAll: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      for (const s of stopAll) await s().catch(() => undefined);
      await stack.stop();
      kept?.release();
      rmSync(work, { recursive: true, force: true });
    })();
    return stopped;
  };
  // Ctrl-C: the emulators' files are closed before the process ends; a run in flight fails.
  options.signal?.addEventListener('abort', () => void stop(), { once: true });
  try {
    // The download-link endpoint on loopback, its key given directly: no Secrets Manager here.
    const linkKey = kept?.linkKey ?? randomBytes(32).toString('hex');
    const signingKey = async () => linkKey;
    const linkServer = await startLinkServer({
      s3: stack.clients.s3,
      bucket: stack.resources.reportsBucket,
      signingKey,
      timeZone: config.timeZone,
      now: () => new Date(now()),
    });
    stopAll.push(linkServer.stop);
    const links = { baseUrl: linkServer.baseUrl, signingKey };
    // Teams cards go to a webhook receiver on loopback, its URL given directly.
    const teams = config.teams ? await startTeamsReceiver() : undefined;
    if (teams) stopAll.push(teams.stop);
    return { kept, work, stack, sent, stopAll, stop, links, records, teams };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Keeps a kept stack up over the history it holds, for its download links, until the caller
 * stops it; `charlie link --local DIR` finds its endpoints meanwhile.
 */
export async function serveKeptStack(
  options: Pick<LocalRunOptions, 'config' | 'signal'> & { dataDir: string },
): Promise<Pick<LocalRunResult, 'stack' | 'links' | 'stop' | 'records' | 'mailFor'>> {
  const { kept, work, stack, links, stop, records } = await openLocalStack(options);
  announceServing(kept, stack, links);
  return { stack, links, stop, records, mailFor: sampleMailFor(options.config, kept, work) };
}

/** A further run of a day collects the day's generated sample mail, all of it received by now. */
function sampleMailFor(config: Config, kept: KeptDir | undefined, work: string): MailForDay {
  return async (date) => {
    const served = await serveSampleDay(
      config,
      { date, at: Date.now() },
      kept?.mailboxDir(date) ?? join(work, 'mailbox', date),
      scenarios.sample,
      undefined,
    );
    return { mail: served.mail, stop: served.stop };
  };
}

function announceServing(kept: KeptDir | undefined, stack: LocalStack, links: DeliverDeps['links']): void {
  kept?.announceServing({
    pid: process.pid,
    linkBaseUrl: links.baseUrl,
    s3: stack.endpoints.s3 as string,
    credentials: localCredentials,
    reportsBucket: stack.resources.reportsBucket,
  });
}

/** The workbook, the emails and the metrics of one execution, written to `outDir` (and the emails kept in the kept folder). */
async function writeDayRun(
  stack: LocalStack,
  outDir: string,
  date: string,
  name: string,
  execution: PipelineResult,
  sent: Buffer[],
  kept: KeptDir | undefined,
  teamsPosts: TeamsPost[],
): Promise<DayRunResult> {
  mkdirSync(outDir, { recursive: true });
  const summary = execution.succeeded ? (execution.output as ExecutionSummary) : undefined;
  let workbookPath: string | undefined;
  if (summary) {
    workbookPath = join(outDir, basename(summary.workbook.key));
    const object = await stack.clients.s3.send(
      new GetObjectCommand({ Bucket: summary.workbook.bucket, Key: summary.workbook.key }),
    );
    writeFileSync(workbookPath, await (object.Body?.transformToByteArray() ?? new Uint8Array()));
  }
  kept?.saveSentMail(date, sent);
  const emailPaths = sent.map((raw, i) => {
    const path = join(outDir, `${date}-${i + 1}.eml`);
    writeFileSync(path, raw);
    return path;
  });
  const teamsPaths = teamsPosts.map((post, i) => {
    const path = join(outDir, `${date}-teams-${i + 1}.json`);
    writeFileSync(path, `${JSON.stringify(post, null, 2)}\n`);
    return path;
  });
  const metricsPath = join(outDir, `${date}-metrics.jsonl`);
  writeFileSync(metricsPath, execution.metrics.map((record) => `${JSON.stringify(record)}\n`).join(''));
  const intradayTime = summary?.workbook.key.match(/-(\d{4})\.xlsx$/)?.[1];
  return {
    date,
    name,
    execution,
    ...(intradayTime ? { intradayTime } : {}),
    ...(summary ? { summary } : {}),
    ...(workbookPath ? { workbookPath } : {}),
    emailPaths,
    teamsPaths,
    metricsPath,
  };
}

/** The failed execution of the kept stack a redrive resumes. */
function failedExecution(kept: KeptDir | undefined, name: string): ExecutionRecord {
  if (!kept) throw new KeptDirError('A redrive needs the kept stack the execution ran on (--data DIR)');
  const record = kept.executions().find((e) => e.name === name || e.executionId === name);
  if (!record)
    throw new KeptDirError(`No execution ${name} in ${kept.dir}: charlie status --local ${kept.dir} lists them`);
  if (record.status !== 'FAILED' || !record.failedState) {
    throw new KeptDirError(`Execution ${name} is ${record.status}: only a failed execution can be redriven`);
  }
  return record;
}

/**
 * The generated sample of a day (written once into `dir`, the same seed giving the same bytes)
 * as the Graph mailbox holds it at the run's instant: mail received later waits for a later run.
 */
async function serveSampleDay(
  config: Config,
  run: ScheduledRun,
  dir: string,
  scale: SampleScale,
  onProgress: LocalRunOptions['onProgress'],
): Promise<{ mail: Parameters<typeof runPipeline>[0]['mail']; count: number; stop: () => Promise<void> }> {
  if (!existsSync(dir)) {
    // Written aside and renamed: a process killed while writing leaves no half mailbox.
    const writing = `${dir}.${process.pid}.tmp`;
    rmSync(writing, { recursive: true, force: true });
    await writeSampleMailbox({
      config,
      date: run.date,
      dir: writing,
      scale,
      ...(onProgress ? { onProgress: (done, total) => onProgress({ stage: 'generating', done, total }) } : {}),
    });
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(writing, dir);
  }
  const messages = (await loadMailboxDir(dir)).filter((m) => Date.parse(m.receivedDateTime) <= run.at);
  const graph = await startFakeGraph({ messages, ...fakeMailboxOf(config) });
  const source = createGraphMailSource(fakeGraphAccess(config, graph));
  return {
    mail: onProgress ? collectProgress(source, messages.length, onProgress) : source,
    count: messages.length,
    stop: graph.stop,
  };
}

/** The folder of a generated day of another size than the sample's, beside the sample's. */
function scaleSuffix(scale: SampleScale): string {
  const { sample } = scenarios;
  const same =
    scale.agents === sample.agents &&
    scale.intervalMinutes === sample.intervalMinutes &&
    scale.cadenceMinutes === sample.cadenceMinutes &&
    scale.hours === undefined &&
    scale.types === undefined &&
    scale.zip === sample.zip;
  if (same) return '';
  const parts = [`${scale.agents}-agents`, `${scale.intervalMinutes}-min`, `every-${scale.cadenceMinutes}-min`];
  if (scale.hours !== undefined) parts.push(`${scale.hours}-h`);
  if (scale.types) parts.push(scale.types.join('+'));
  if (scale.zip) parts.push('zip');
  return `-${parts.join('-')}`;
}

/** The mailbox, telling as each message's attachments have been read. */
function collectProgress(
  source: GraphMailSource,
  total: number,
  onProgress: (progress: LocalProgress) => void,
): GraphMailSource {
  let done = 0;
  const { messageCollected } = source;
  return {
    name: source.name,
    origin: source.origin,
    get throttled() {
      return source.throttled;
    },
    messages: (window) => source.messages(window),
    attachments: (messageId) => source.attachments(messageId),
    download: (messageId, attachmentId, consume) => source.download(messageId, attachmentId, consume),
    async eachAttachment(messageId, visit) {
      await source.eachAttachment(messageId, visit);
      onProgress({ stage: 'collecting', done: ++done, total });
    },
    ...(messageCollected ? { messageCollected: (messageId: string) => messageCollected.call(source, messageId) } : {}),
  };
}

/**
 * The pipeline's observers: the caller's events, and the ingest progress — files from the
 * Map's iterations, rows read from the metrics each ingest flushes.
 */
function ingestProgress(
  options: Pick<LocalRunOptions, 'onEvent' | 'onProgress'>,
): Pick<PipelineOptions, 'onEvent' | 'onMetrics'> {
  const { onEvent, onProgress } = options;
  if (!onProgress) return onEvent ? { onEvent } : {};
  let total = 0;
  let done = 0;
  let rows = 0;
  return {
    onEvent: (event) => {
      if (event.type === 'StateExited' && event.index === undefined && event.state.name === 'Collect') {
        total = (event.state.output as unknown as CollectOutput).files.length;
      }
      if (event.type === 'MapIterationSucceeded' && event.parentState.name === 'IngestFiles') {
        done++;
        onProgress({ stage: 'ingesting', done, total, rows });
      }
      onEvent?.(event);
    },
    onMetrics: (record) => {
      if (typeof record.RowsRead === 'number') rows += record.RowsRead;
    },
  };
}

/** Keeps a copy of every raw message the pipeline hands to SES, exactly as sent. */
function captureSentMail(stack: LocalStack, sent: Buffer[]): void {
  stack.clients.sesv2.middlewareStack.add(
    (next) => async (args) => {
      const raw = (args.input as SendEmailCommandInput).Content?.Raw?.Data;
      const response = await next(args);
      if (raw) sent.push(Buffer.from(raw));
      return response;
    },
    { step: 'initialize', name: 'captureSentMail' },
  );
}

/** Uploads saved .eml files under the saved-mail prefix, as an operator does for a backfill. */
async function pushSavedMail(stack: LocalStack, config: Config, dir: string): Promise<number> {
  const names = readdirSync(dir).filter((name) => /\.eml$/i.test(name));
  for (const name of names) {
    await stack.clients.s3.send(
      new PutObjectCommand({
        Bucket: stack.resources.dataBucket,
        Key: `${config.mailbox.savedMailPrefix}${name}`,
        Body: readFileSync(join(dir, name)),
        ContentType: 'message/rfc822',
      }),
    );
  }
  return names.length;
}

/** Uploads saved CSVs to the agent inbox, as the Windows agent or an operator would, a few at a time. */
async function pushInbox(stack: LocalStack, config: Config, dir: string): Promise<number> {
  const names = readdirSync(dir).filter((name) => /\.csv$/i.test(name));
  await mapPool(names, 8, (name) =>
    stack.clients.s3.send(
      new PutObjectCommand({
        Bucket: stack.resources.dataBucket,
        Key: `${config.agentInbox.prefix}local/${name}`,
        Body: readFileSync(join(dir, name)),
        ContentType: 'text/csv',
      }),
    ),
  );
  return names.length;
}

/** A run's line in a range's summary table. */
export interface DayRow {
  /** The date, and an intraday run's local time. */
  day: string;
  status: 'SUCCEEDED' | 'FAILED';
  rows: number;
  rejects: number;
  /** `sent` by this run, `earlier` by a run before it, else `no`. */
  delivered: 'sent' | 'earlier' | 'no';
}

export function dayRow(result: DayRunResult): DayRow {
  const { summary } = result;
  const delivery = summary?.delivery;
  return {
    day: `${result.date}${result.intradayTime ? ` ${result.intradayTime}` : ''}`,
    status: result.execution.succeeded ? 'SUCCEEDED' : 'FAILED',
    rows: summary?.types.reduce((sum, type) => sum + type.rows, 0) ?? 0,
    rejects: summary?.totals.rejected ?? 0,
    delivered: delivery?.sent ? 'sent' : delivery?.reason?.startsWith('already delivered') ? 'earlier' : 'no',
  };
}

/** The SharePoint site a local run copies workbooks to when the configuration names none. */
export const exampleSharePoint = {
  hostname: 'contoso.sharepoint.com',
  sitePath: '/sites/Reporting',
  library: 'Documents',
  folder: 'Charlie/{yyyy}/{mm}',
  fileName: '{workbook}',
} as const;

/**
 * A fake Graph serving the configured site (by host name and path; a site or library named by
 * id is the example's), its library's files kept in `dir` across runs, and deliver's uploader to it.
 */
async function serveSharePoint(config: Config, dir: string, s3: S3Client) {
  const configured = config.sharepoint;
  const hostname = configured?.hostname ?? exampleSharePoint.hostname;
  const sitePath = configured?.sitePath ?? exampleSharePoint.sitePath;
  const library = configured?.library ?? exampleSharePoint.library;
  const sharepoint: SharePointConfig = {
    hostname,
    sitePath,
    library,
    folder: configured?.folder ?? exampleSharePoint.folder,
    fileName: configured?.fileName ?? exampleSharePoint.fileName,
  };
  const graph = await startFakeGraph({
    ...fakeMailboxOf(config),
    sharepoint: {
      sites: [{ hostname: hostname, path: sitePath, libraries: [library] }],
      dir,
    },
  });
  const uploader = createSharePointUploader({
    sharepoint,
    ...fakeGraphAccess(config, graph),
    s3,
  });
  return { graph, uploader, dir, stop: graph.stop };
}
