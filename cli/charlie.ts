import { spawnSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { ActionError, rerunInput, startRun, undoInput } from '../functions/actions/actions.ts';
import { stepFunctionsControl } from '../functions/actions/executions.ts';
import { createGraphMailSource, graphCredentialExample, readGraphCredential } from '../functions/collect/graph.ts';
import { describeIgnored } from '../functions/collect/manifest.ts';
import {
  type ConfigChoice,
  centerDataDir,
  chooseConfig,
  chooseConfigPath,
  defaultCentersDir,
} from '../functions/common/centers.ts';
import { createDynamoDbClient, createS3Client } from '../functions/common/clients.ts';
import { type Config, ConfigError, defaultConfigPath, maxLinkExpiryHours } from '../functions/common/config.ts';
import type {
  MailSummary,
  ObjectRef,
  QuarantineSummary,
  RowCounts,
  RunInput,
  UndoneSummary,
} from '../functions/common/contracts.ts';
import { stateMachineName } from '../functions/common/keys.ts';
import { cachedSecret } from '../functions/common/secrets.ts';
import { isDate } from '../functions/common/time.ts';
import { planBackfill, uploadBackfill } from './backfill.ts';
import { type CheckResult, type DoctorEnvironment, exitCode, formatChecklist, runDoctor } from './doctor.ts';
import { freshLink, NoReportError } from './link.ts';
import { MissingStackError, stackOutputs } from './stack-outputs.ts';

const usage = `charlie — run and operate Charlie Reporting

  charlie run [options]                      the whole job on this machine (npm start -- --help for its options)
  charlie rerun --date D [--reports A,B] [--force] [--no-deliver] [--release ID|all …]
                                             start an execution in AWS for a day; --release reads
                                             quarantined inputs of the day again (ids as status lists them)
  charlie status [--date D] [--limit N]      the latest executions and their counts
  charlie link --date D [--time HHMM] [--hours N]
                                             a fresh download link for a day's workbook (or an intraday
                                             run's, by its local time), valid delivery.linkExpiryHours
                                             or --hours (at most 720)
  charlie backfill --from DIR [--dry-run] [--deliver] [--force]
                                             upload saved .eml and .csv files into the inbox, then run
                                             every day they cover (without emailing unless --deliver)
  charlie undo --source KEY|MESSAGE-ID [--source …] [--date D] [--force]
                                             take a bad file (raw/<date>/<type>/<sha256>.csv) or every
                                             file of an email (message id, needs --date) out of its day
                                             and rebuild the workbook; --force emails it again
  charlie doctor [--local]                   check the set-up end to end, changing nothing: configuration,
                                             Graph, the last 24 hours of mail, SES, schedules, agents,
                                             alarms; --local checks the local stack with a sample mailbox

Common options: --config FILE (default ${defaultConfigPath}), --state-machine ARN (default: found by name),
--region R (default: the AWS SDK's). AWS credentials come from the usual AWS SDK sources.

--center NAME: act on that center, configured in ${defaultCentersDir}/NAME.json (or --centers DIR/NAME.json):
its stack and state machine, its kept local stack (DIR/NAME under --local DIR). Where ${defaultCentersDir}/
exists, every command names its center.

--local DIR: status, rerun, undo and link act on the local stack kept in DIR (npm start -- --data DIR)
instead of AWS; rerun and undo run there and then, link needs DIR served (npm start -- --data DIR --serve).
`;

/** What the user typed wrong or must do next; printed without a stack trace. */
class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage);
    return command ? 0 : 2;
  }
  if (command === 'run') {
    const runner = fileURLToPath(new URL('../local/run.ts', import.meta.url));
    return spawnSync(process.execPath, ['--import', 'tsx', runner, ...rest], { stdio: 'inherit' }).status ?? 1;
  }
  // doctor --local checks a fresh local stack; the other commands' --local names a kept one.
  const localOption = command === 'doctor' ? ({ type: 'boolean' } as const) : ({ type: 'string' } as const);
  const { values } = parseArgs({
    args: rest,
    options: {
      date: { type: 'string' },
      reports: { type: 'string' },
      source: { type: 'string', multiple: true },
      release: { type: 'string', multiple: true },
      force: { type: 'boolean' },
      'no-deliver': { type: 'boolean' },
      limit: { type: 'string' },
      from: { type: 'string' },
      'dry-run': { type: 'boolean' },
      deliver: { type: 'boolean' },
      time: { type: 'string' },
      hours: { type: 'string' },
      config: { type: 'string' },
      center: { type: 'string' },
      centers: { type: 'string' },
      'state-machine': { type: 'string' },
      region: { type: 'string' },
      local: localOption,
    },
    strict: true,
  });
  if (values.date !== undefined && !isDate(values.date))
    throw new UsageError(`--date must look like 2026-03-09, not "${values.date}"`);
  const region = values.region ? { region: values.region } : {};
  const choice: ConfigChoice = { center: values.center, centersDir: values.centers, config: values.config };
  if (command === 'doctor') return doctor(chooseConfigPath(choice).path, values.local === true, region);
  const { config, center } = chooseConfig(choice);
  // --local names the folder a run was given with --data; a center's stack is kept in its own folder under it.
  const local = typeof values.local === 'string' ? values.local : undefined;
  const kept = local === undefined ? undefined : centerDataDir(local, center);
  const sfn = new SFNClient(region);
  const stateMachine = async () => values['state-machine'] ?? (await findStateMachine(sfn, config));

  switch (command) {
    case 'rerun': {
      if (!values.date) throw new UsageError('rerun needs --date YYYY-MM-DD');
      const input = rerunInput(values.date, {
        ...(values.reports ? { reports: values.reports.split(',').map((r) => r.trim()) } : {}),
        ...(values.force ? { force: true } : {}),
        ...(values['no-deliver'] ? { deliver: false } : {}),
        ...(values.release?.length ? { release: values.release } : {}),
      });
      if (local) return runKept(local, choice, input);
      return start(sfn, await stateMachine(), input, 'rerun');
    }
    case 'status': {
      const limit = Number(values.limit ?? 10);
      const executions = kept
        ? keptExecutions(kept)
        : awsExecutions(sfn, await stateMachine(), values.date ? 100 : limit);
      return status(executions, values.date, limit);
    }
    case 'undo': {
      const input = undoInput(values.source ?? [], {
        ...(values.date ? { date: values.date } : {}),
        ...(values.force ? { force: true } : {}),
      });
      if (local) return runKept(local, choice, input);
      return start(sfn, await stateMachine(), input, 'undo');
    }
    case 'link': {
      if (!values.date) throw new UsageError('link needs --date YYYY-MM-DD');
      if (values.time !== undefined && !/^([01]\d|2[0-3])[0-5]\d$/.test(values.time))
        throw new UsageError(`--time is an intraday run's local time HHMM, like 1400, not "${values.time}"`);
      const hours = values.hours === undefined ? undefined : Number(values.hours);
      if (hours !== undefined && !(hours > 0 && hours <= maxLinkExpiryHours))
        throw new UsageError(
          `--hours must be more than 0 and at most ${maxLinkExpiryHours} (30 days, the most delivery.linkExpiryHours allows), not "${values.hours}"`,
        );
      const options = {
        date: values.date,
        ...(values.time ? { intradayTime: values.time } : {}),
        ...(hours ? { hours } : {}),
      };
      let outputs: { ReportsBucketName: string; DownloadLinkUrl: string };
      let link: Awaited<ReturnType<typeof freshLink>>;
      if (kept) {
        const { keptServing } = await import('../local/kept.ts');
        const serving = keptServing(kept);
        outputs = { ReportsBucketName: serving.reportsBucket, DownloadLinkUrl: serving.linkBaseUrl };
        const s3 = createS3Client({ s3: serving.s3, region: 'us-east-1', credentials: serving.credentials });
        link = await freshLink({ s3, signingKey: serving.linkKey }, config, outputs, options);
      } else {
        outputs = await stackOutputs(new CloudFormationClient(region), config.name);
        link = await freshLink(
          { s3: new S3Client(region), secrets: new SecretsManagerClient(region) },
          config,
          outputs,
          options,
        );
      }
      process.stdout.write(`${link.url}\n`);
      process.stderr.write(
        `s3://${outputs.ReportsBucketName}/${link.key}; the link works until ${link.expiresAt.toISOString()}\n`,
      );
      return 0;
    }
    case 'backfill':
      return backfill(values, config, region, sfn, stateMachine);
    default:
      throw new UsageError(`Unknown command "${command}". ${usage}`);
  }
}

/** Uploads a folder of saved mail and CSV exports, then starts a run for each day they cover. */
async function backfill(
  values: { from?: string; 'dry-run'?: boolean; deliver?: boolean; force?: boolean },
  config: Config,
  region: { region?: string },
  sfn: SFNClient,
  stateMachine: () => Promise<string>,
): Promise<number> {
  if (!values.from) throw new UsageError('backfill needs --from DIR: a folder of saved .eml files and/or .csv exports');
  const found = await stat(values.from).catch(() => undefined);
  if (!found?.isDirectory()) throw new UsageError(`--from ${values.from} is not a folder`);
  const plan = await planBackfill(values.from, config);
  if (plan.files.length === 0) {
    throw new UsageError(
      `No .eml or .csv files under ${values.from}${plan.skipped.length ? ` (skipped: ${plan.skipped.slice(0, 5).join(', ')})` : ''}`,
    );
  }
  for (const path of plan.skipped) process.stderr.write(`skipped (not .eml or .csv): ${path}\n`);
  const byTime = plan.files.filter((file) => file.atFrom === 'file time');
  if (byTime.length > 0) {
    process.stderr.write(
      `${byTime.length} file(s) have no time in their headers or name: dated by their modified time (${byTime
        .slice(0, 3)
        .map((file) => file.path)
        .join(', ')}${byTime.length > 3 ? ', …' : ''})\n`,
    );
  }
  const input = (date: string): RunInput => ({
    date,
    ...(values.deliver ? {} : { deliver: false }),
    ...(values.force ? { force: true } : {}),
  });
  if (values['dry-run']) {
    for (const file of plan.files) process.stdout.write(`would upload ${file.path} -> ${file.key}  (${file.day})\n`);
    for (const date of plan.days) process.stdout.write(`would start a run with ${JSON.stringify(input(date))}\n`);
    return 0;
  }
  const [outputs, arn] = await Promise.all([
    stackOutputs(new CloudFormationClient(region), config.name),
    stateMachine(),
  ]);
  const sent = await uploadBackfill(
    new S3Client(region),
    outputs.DataBucketName,
    plan,
    (done, total, file, uploaded) => {
      process.stderr.write(`${uploaded ? 'uploaded' : 'already there'} ${done}/${total}: ${file.path}\n`);
    },
  );
  process.stderr.write(`${sent.uploaded} uploaded, ${sent.present} already in s3://${outputs.DataBucketName}\n`);
  for (const date of plan.days) await start(sfn, arn, input(date), 'backfill');
  return 0;
}

/** Checks the deployed stack, or with `local` the local stack, and prints the checklist. */
async function doctor(configPath: string, local: boolean, region: { region?: string }): Promise<number> {
  const now = Date.now();
  let stop: () => Promise<void> = async () => undefined;
  const connect = async (config: Config): Promise<DoctorEnvironment | CheckResult> => {
    if (local) {
      // Loaded only here: the emulators are development dependencies.
      const { startLocalDoctor } = await import('../local/doctor.ts');
      const started = await startLocalDoctor(config, now);
      stop = started.stop;
      return started.environment;
    }
    const cloudformation = new CloudFormationClient(region);
    let outputs: Awaited<ReturnType<typeof stackOutputs>>;
    try {
      outputs = await stackOutputs(cloudformation, config.name);
    } catch (error) {
      if (!(error instanceof MissingStackError)) throw error;
      return { name: `Stack ${config.name}`, status: 'fail', detail: error.message, next: 'npx cdk deploy' };
    }
    const s3 = new S3Client(region);
    return {
      description: `stack ${config.name}${region.region ? ` in ${region.region}` : ''}`,
      mail: createGraphMailSource({
        mailbox: config.mailbox,
        credential: cachedSecret(
          new SecretsManagerClient(region),
          config.mailbox.secretName,
          readGraphCredential,
          graphCredentialExample,
        ),
      }),
      s3,
      dynamodb: createDynamoDbClient(region),
      resources: {
        dataBucket: outputs.DataBucketName,
        reportsBucket: outputs.ReportsBucketName,
        table: outputs.TableName,
      },
      aws: {
        stackName: config.name,
        cloudformation,
        scheduler: new SchedulerClient(region),
        cloudwatch: new CloudWatchClient(region),
        ses: new SESv2Client(region),
      },
    };
  };
  try {
    const { heading, results } = await runDoctor(configPath, connect, now);
    process.stdout.write(formatChecklist(heading, results));
    return exitCode(results);
  } finally {
    await stop();
  }
}

async function findStateMachine(sfn: SFNClient, config: Config): Promise<string> {
  const name = stateMachineName(config);
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
    const found = page.stateMachines?.find((m) => m.name === name);
    if (found?.stateMachineArn) return found.stateMachineArn;
    nextToken = page.nextToken;
  } while (nextToken);
  throw new UsageError(
    `No state machine named ${name} in this account and region: deploy with "npx cdk deploy", or pass --state-machine ARN / --region.`,
  );
}

async function start(sfn: SFNClient, arn: string, input: RunInput, action: string): Promise<number> {
  const executionArn = await startRun(stepFunctionsControl(sfn, arn), input, action, Date.now());
  process.stdout.write(
    `Started ${executionArn}\nInput: ${JSON.stringify(input)}\nFollow it with: charlie status --date ${input.date}\n`,
  );
  return 0;
}

interface ExecutionOutput {
  date?: string;
  types?: { type: string; rows: number; ingest: RowCounts }[];
  missing?: string[];
  files?: number;
  undone?: UndoneSummary;
  quarantined?: QuarantineSummary;
  manifest?: ObjectRef;
  mail?: Pick<MailSummary, 'ignored' | 'messagesIgnored' | 'ignoredReasonsNotListed'>;
  delivery?: { sent: boolean; reason?: string };
}

/** An execution as status shows it, from Step Functions or from a kept local stack. */
interface ListedExecution {
  name?: string;
  status?: string;
  startDate?: Date;
  input: RunInput;
  output: ExecutionOutput;
  error?: string;
  cause?: string;
}

/** The latest executions of the state machine, newest first. */
async function* awsExecutions(sfn: SFNClient, arn: string, maxResults: number): AsyncGenerator<ListedExecution> {
  const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, maxResults }));
  for (const execution of listed.executions ?? []) {
    const detail = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
    yield {
      ...(execution.name ? { name: execution.name } : {}),
      ...(execution.status ? { status: execution.status } : {}),
      ...(execution.startDate ? { startDate: execution.startDate } : {}),
      input: JSON.parse(detail.input ?? '{}') as RunInput,
      output: JSON.parse(detail.output ?? '{}') as ExecutionOutput,
      ...(detail.error ? { error: detail.error } : {}),
      ...(detail.cause ? { cause: detail.cause } : {}),
    };
  }
}

/** The executions a kept local stack recorded, newest first. */
async function* keptExecutions(dir: string): AsyncGenerator<ListedExecution> {
  const { openKeptDir } = await import('../local/kept.ts');
  for (const record of openKeptDir(dir, { readOnly: true }).executions()) {
    yield {
      name: record.name,
      status: record.status,
      startDate: new Date(record.startedAt),
      input: record.input,
      output: (record.output ?? {}) as ExecutionOutput,
      ...(record.error ? { error: record.error.name, cause: record.error.message } : {}),
    };
  }
}

/** Runs an execution on a kept local stack (with a center, its folder in `dir`), there and then, as the local run does. */
function runKept(dir: string, choice: ConfigChoice, input: RunInput): number {
  const runner = fileURLToPath(new URL('../local/run.ts', import.meta.url));
  const args = [
    '--data',
    dir,
    '--date',
    input.date as string,
    ...(choice.config ? ['--config', choice.config] : []),
    ...(choice.center ? ['--center', choice.center] : []),
    ...(choice.centersDir ? ['--centers', choice.centersDir] : []),
    ...(input.reports ? ['--reports', input.reports.join(',')] : []),
    ...(input.force ? ['--force'] : []),
    ...(input.deliver === false ? ['--no-deliver'] : []),
    ...(input.undo ?? []).flatMap((source) => ['--undo', source]),
    ...(input.release ?? []).flatMap((source) => ['--release', source]),
  ];
  return spawnSync(process.execPath, ['--import', 'tsx', runner, ...args], { stdio: 'inherit' }).status ?? 1;
}

async function status(
  executions: AsyncIterable<ListedExecution>,
  date: string | undefined,
  limit: number,
): Promise<number> {
  let shown = 0;
  for await (const execution of executions) {
    if (shown >= limit) break;
    const { input, output } = execution;
    const day = output.date ?? input.date ?? '(default day)';
    if (date && day !== date) continue;
    shown++;
    process.stdout.write(
      `${execution.startDate?.toISOString()}  ${String(execution.status).padEnd(9)} ${day}  ${execution.name}\n`,
    );
    for (const type of output.types ?? []) {
      const c = type.ingest;
      process.stdout.write(
        `    ${type.type.padEnd(22)} ${String(type.rows).padStart(6)} rows  read ${c.read}, inserted ${c.inserted}, updated ${c.updated}, unchanged ${c.unchanged}, stale ${c.stale}, rejected ${c.rejected}\n`,
      );
    }
    if (output.undone && output.undone.files > 0) {
      const { files, removed, listed } = output.undone;
      process.stdout.write(`    undone: ${files} files, ${removed} rows taken out\n`);
      for (const file of listed) process.stdout.write(`      ${file.key} (${file.removed} rows)\n`);
      if (listed.length < files) process.stdout.write(`      … ${files - listed.length} more in the manifest\n`);
    }
    if (output.quarantined && output.quarantined.count > 0) {
      const { count, listed } = output.quarantined;
      process.stdout.write(
        `    quarantined: ${count} inputs kept aside (rerun with --release <source id> once mended)\n`,
      );
      for (const q of listed) process.stdout.write(`      ${q.stage}: ${q.source}: ${q.reason}\n`);
      if (listed.length < count)
        process.stdout.write(`      … ${count - listed.length} more under quarantine/${day}/\n`);
    }
    for (const ignored of output.mail?.ignored ?? []) {
      const [line, example] = describeIgnored(ignored);
      process.stdout.write(`    ${line}\n        ${example}\n`);
    }
    if (output.mail?.ignoredReasonsNotListed) {
      process.stdout.write(`    and ${output.mail.ignoredReasonsNotListed} other reasons (in the run's manifest)\n`);
    }
    if (output.manifest) {
      process.stdout.write(
        `    files: ${output.files ?? 0} ingested, listed in s3://${output.manifest.bucket}/${output.manifest.key}\n`,
      );
    }
    if (output.missing?.length) process.stdout.write(`    missing: ${output.missing.join(', ')}\n`);
    if (output.delivery) {
      process.stdout.write(`    delivery: ${output.delivery.sent ? 'sent' : `not sent (${output.delivery.reason})`}\n`);
    }
    if (execution.status === 'FAILED')
      process.stdout.write(`    error: ${execution.error}: ${execution.cause ?? ''}\n`);
  }
  if (shown === 0)
    process.stdout.write(date ? `No execution for ${date} among the latest 100.\n` : 'No executions yet.\n');
  return 0;
}

/** The CLI as a program: an exit code, and errors that say what to do next instead of a stack trace. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    const message = (error as Error).message;
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      error instanceof MissingStackError ||
      error instanceof NoReportError ||
      error instanceof ActionError ||
      // A kept local stack refused (local/kept.ts, loaded only with --local).
      (error as Error).name === 'KeptDirError'
    ) {
      process.stderr.write(`${message}\n`);
      return 2;
    }
    const name = (error as Error).name;
    if (
      name === 'CredentialsProviderError' ||
      name === 'UnrecognizedClientException' ||
      name === 'ExpiredTokenException'
    ) {
      process.stderr.write(
        `No usable AWS credentials (${message}). Configure them (aws configure, AWS_PROFILE) and try again.\n`,
      );
    } else {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    }
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await runCli(process.argv.slice(2));
}
