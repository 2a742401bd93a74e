import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type Config, ConfigError, defaultConfigPath, loadConfigFile } from '../functions/shared/config.ts';
import type { RemoveResult, RowCounts, RunInput } from '../functions/shared/contracts.ts';
import { rawKeyParts, stateMachineName } from '../functions/shared/keys.ts';
import { isDate } from '../functions/shared/time.ts';

const usage = `charlie — run and operate Charlie Reporting

  charlie run [options]                      the whole job on this machine (npm start -- --help for its options)
  charlie rerun --date D [--reports A,B] [--force] [--no-deliver]
                                             start an execution in AWS for a day
  charlie status [--date D] [--limit N]      the latest executions and their counts
  charlie undo --source KEY|MESSAGE-ID [--source …] [--date D] [--force]
                                             take a bad file (raw/<date>/<type>/<sha256>.csv) or every
                                             file of an email (message id, needs --date) out of its day
                                             and rebuild the workbook; --force emails it again

Common options: --config FILE (default ${defaultConfigPath}), --state-machine ARN (default: found by name),
--region R (default: the AWS SDK's). AWS credentials come from the usual AWS SDK sources.
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
  const { values } = parseArgs({
    args: rest,
    options: {
      date: { type: 'string' },
      reports: { type: 'string' },
      source: { type: 'string', multiple: true },
      force: { type: 'boolean' },
      'no-deliver': { type: 'boolean' },
      limit: { type: 'string' },
      config: { type: 'string' },
      'state-machine': { type: 'string' },
      region: { type: 'string' },
    },
    strict: true,
  });
  if (values.date !== undefined && !isDate(values.date))
    throw new UsageError(`--date must look like 2026-03-09, not "${values.date}"`);
  const config = loadConfigFile(values.config ?? defaultConfigPath);
  const sfn = new SFNClient(values.region ? { region: values.region } : {});
  const arn = values['state-machine'] ?? (await findStateMachine(sfn, config));

  switch (command) {
    case 'rerun': {
      if (!values.date) throw new UsageError('rerun needs --date YYYY-MM-DD');
      const input: RunInput = {
        date: values.date,
        ...(values.reports ? { reports: values.reports.split(',').map((r) => r.trim()) } : {}),
        ...(values.force ? { force: true } : {}),
        ...(values['no-deliver'] ? { deliver: false } : {}),
      };
      return start(sfn, arn, input, `rerun-${values.date}`);
    }
    case 'status':
      return status(sfn, arn, values.date, Number(values.limit ?? 10));
    case 'undo': {
      const sources = values.source ?? [];
      if (sources.length === 0)
        throw new UsageError('undo needs --source raw/<date>/<type>/<sha256>.csv or a message id');
      const keyDates = sources.flatMap((source) => rawKeyParts(source)?.date ?? []);
      const date = values.date ?? keyDates[0];
      if (!date) throw new UsageError('undo by message id needs --date YYYY-MM-DD: the day the email belongs to');
      const other = keyDates.find((d) => d !== date);
      if (other)
        throw new UsageError(
          `undo: every file must belong to ${date}; ${other} is another day (run undo once per day)`,
        );
      const input: RunInput = { date, undo: sources, ...(values.force ? { force: true } : {}) };
      return start(sfn, arn, input, `undo-${date}`);
    }
    default:
      throw new UsageError(`Unknown command "${command}". ${usage}`);
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

async function start(sfn: SFNClient, arn: string, input: RunInput, prefix: string): Promise<number> {
  const name = `${prefix}-${Date.now()}`;
  const started = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }),
  );
  process.stdout.write(
    `Started ${started.executionArn}\nInput: ${JSON.stringify(input)}\nFollow it with: charlie status --date ${input.date}\n`,
  );
  return 0;
}

interface ExecutionOutput {
  date?: string;
  types?: { type: string; rows: number; ingest: RowCounts }[];
  missing?: string[];
  undone?: RemoveResult[];
  delivery?: { sent: boolean; reason?: string };
}

async function status(sfn: SFNClient, arn: string, date: string | undefined, limit: number): Promise<number> {
  const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, maxResults: date ? 100 : limit }));
  let shown = 0;
  for (const execution of listed.executions ?? []) {
    if (shown >= limit) break;
    const detail = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
    const input = JSON.parse(detail.input ?? '{}') as RunInput;
    const output = JSON.parse(detail.output ?? '{}') as ExecutionOutput;
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
    for (const file of output.undone ?? []) {
      process.stdout.write(`    undone: ${file.key} (${file.removed} rows taken out)\n`);
    }
    if (output.missing?.length) process.stdout.write(`    missing: ${output.missing.join(', ')}\n`);
    if (output.delivery) {
      process.stdout.write(`    delivery: ${output.delivery.sent ? 'sent' : `not sent (${output.delivery.reason})`}\n`);
    }
    if (detail.status === 'FAILED') process.stdout.write(`    error: ${detail.error}: ${detail.cause ?? ''}\n`);
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
    if (error instanceof UsageError || error instanceof ConfigError) {
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
