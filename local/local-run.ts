import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { mapPool } from '../functions/collect/concurrency.ts';
import { createGraphMailSource, type GraphCredential } from '../functions/collect/graph.ts';
import type { Config } from '../functions/common/config.ts';
import type {
  DeliveryResult,
  MailSummary,
  ObjectRef,
  QuarantineSummary,
  RunInput,
  TypeSummary,
  UndoneSummary,
} from '../functions/common/contracts.ts';
import { previousLocalDate } from '../functions/common/time.ts';
import type { DeliverDeps } from '../functions/deliver/deliver.ts';
import { startFakeGraph } from './graph-server.ts';
import { startLinkServer } from './link-server.ts';
import { type ExecutionEvent, type PipelineResult, runPipeline } from './pipeline.ts';
import { writeSampleMailbox } from './sample-day.ts';
import { type LocalStack, startLocalStack } from './stack.ts';

export interface LocalRunOptions {
  config: Config;
  /** Business date; default: the day that has just ended in the configured time zone. */
  date?: string;
  /** A folder of .eml files put under the saved-mail prefix and collected as saved mail, as in AWS. */
  mailboxDir?: string;
  /** A Graph endpoint (a tenant, a national cloud, a stand-in) collected instead of a generated sample day served by the fake Graph. */
  graph?: GraphEndpoint;
  /** A folder of CSVs named `<Type>__YYYY-MM-DD_HHMM.csv`, pushed to the agent inbox. */
  inboxDir?: string;
  reports?: string[];
  deliver?: boolean;
  force?: boolean;
  outDir: string;
  /** Keep the local stack running (for the download link) until the caller stops it. */
  keepRunning?: boolean;
  now?: () => number;
  onEvent?: (event: ExecutionEvent) => void;
  onStep?: (message: string) => void;
}

/** Where and as whom to read Graph mail; the folder is the configuration's. */
export type GraphEndpoint = Pick<
  Config['mailbox'],
  'graphBaseUrl' | 'authorityHost' | 'tenantId' | 'clientId' | 'user'
> & {
  credential: GraphCredential;
};

export interface LocalRunResult {
  date: string;
  execution: PipelineResult;
  /** The execution's output, when it succeeded. */
  summary?: ExecutionSummary;
  workbookPath?: string;
  emailPaths: string[];
  /** Stops the emulators when the run was asked to keep them up. */
  stop(): Promise<void>;
  stack: LocalStack;
  /** The local download-link endpoint and its key, for further runs on the same stack. */
  links: DeliverDeps['links'];
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
 * The whole job on this machine: emulators, a Graph mailbox on loopback, the state machine
 * run locally, and the workbook and delivered email written to `outDir`.
 */
export async function runLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const { config } = options;
  const now = options.now ?? Date.now;
  const date = options.date ?? previousLocalDate(now(), config.timeZone);
  const step = options.onStep ?? (() => undefined);
  const work = mkdtempSync(join(tmpdir(), 'charlie-local-'));
  const stack = await startLocalStack(join(work, 'stack'));
  const sent: Buffer[] = [];
  captureSentMail(stack, sent);
  const stopAll: (() => Promise<void>)[] = [];

  try {
    let mail: Parameters<typeof runPipeline>[0]['mail'];
    if (options.graph) {
      const { credential, ...endpoint } = options.graph;
      mail = createGraphMailSource({ mailbox: { ...config.mailbox, ...endpoint }, credential });
      step(`Collecting the Graph mailbox ${endpoint.user}/${config.mailbox.folder} at ${endpoint.graphBaseUrl}`);
    } else if (!options.mailboxDir && !options.inboxDir) {
      const sampleDir = join(work, 'mailbox');
      const written = await writeSampleMailbox({ config, date, dir: sampleDir });
      step(`Generated a sample day: ${written.length} emails for ${date} in ${sampleDir}`);
      const graph = await startFakeGraph({
        mailboxDir: sampleDir,
        user: config.mailbox.user,
        folderPath: config.mailbox.folder,
        tenantId: config.mailbox.tenantId,
      });
      stopAll.push(graph.stop);
      mail = createGraphMailSource({
        mailbox: { ...config.mailbox, graphBaseUrl: graph.graphBaseUrl, authorityHost: graph.authorityHost },
        credential: { clientSecret: 'local-client-secret' },
      });
      step(`Serving it as the Graph mailbox ${config.mailbox.user}/${config.mailbox.folder} at ${graph.graphBaseUrl}`);
    }
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

    // The download-link endpoint on loopback, its key given directly: no Secrets Manager here.
    const linkKey = randomBytes(32).toString('hex');
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

    const input: RunInput = {
      date,
      ...(options.reports ? { reports: options.reports } : {}),
      ...(options.deliver === false ? { deliver: false } : {}),
      ...(options.force ? { force: true } : {}),
    };
    const execution = await runPipeline({
      config,
      stack,
      mail,
      links,
      input,
      now,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    });

    mkdirSync(options.outDir, { recursive: true });
    const summary = execution.succeeded ? (execution.output as ExecutionSummary) : undefined;
    let workbookPath: string | undefined;
    if (summary) {
      workbookPath = join(options.outDir, basename(summary.workbook.key));
      const object = await stack.clients.s3.send(
        new GetObjectCommand({ Bucket: summary.workbook.bucket, Key: summary.workbook.key }),
      );
      writeFileSync(workbookPath, await (object.Body?.transformToByteArray() ?? new Uint8Array()));
    }
    const emailPaths = sent.map((raw, i) => {
      const path = join(options.outDir, `${date}-${i + 1}.eml`);
      writeFileSync(path, raw);
      return path;
    });

    const stop = async () => {
      for (const s of stopAll) await s();
      await stack.stop();
      rmSync(work, { recursive: true, force: true });
    };
    if (!options.keepRunning) await stop();
    return {
      date,
      execution,
      ...(summary ? { summary } : {}),
      ...(workbookPath ? { workbookPath } : {}),
      emailPaths,
      stop: options.keepRunning ? stop : async () => undefined,
      stack,
      links,
    };
  } catch (error) {
    for (const s of stopAll) await s().catch(() => undefined);
    await stack.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
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
