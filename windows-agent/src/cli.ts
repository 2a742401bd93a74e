import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAgentToken } from '../../functions/agent-upload/contract.ts';
import type { RetryOptions } from '../../functions/common/retry.ts';
import type { CommandRunner } from './commands.ts';
import { type AgentConfig, loadAgentConfig, readToken } from './config.ts';
import { endpointClient } from './endpoint.ts';
import { rollingLog } from './log.ts';
import { powershellOutlookReader } from './outlook.ts';
import { pushExports } from './push.ts';
import { loadState, type RunRecord } from './state.ts';
import { installTask, queryTask, uninstallTask } from './task.ts';

const usage = `Charlie agent: pushes the Genesys exports classic Outlook receives to Charlie Reporting.

Usage: node charlie-agent.mjs <command> [options]

  run                  push the new exports of the last windowHours
    --dry-run          list what would be pushed; push nothing, record nothing
    --from-folder DIR  push the CSVs saved in DIR (by an Outlook rule) instead of reading Outlook
  install              run every hour while you are logged on (Task Scheduler, no admin rights)
    --from-folder DIR  the task pushes from DIR
  uninstall            remove the task
  status               the last push, the last run, what is pending, the task

  --config FILE        default: agent.config.json beside charlie-agent.mjs
  --help               this text
`;

/** What the agent takes from its surroundings: injected so that it runs, and is tested, anywhere. */
export interface CliDeps {
  commands: CommandRunner;
  fetch?: typeof fetch;
  now: () => number;
  /** Backoff overrides (tests pass their own sleep). */
  retry?: RetryOptions;
  out: (line: string) => void;
  err: (line: string) => void;
  /** node.exe and the bundle: what the scheduled task starts. */
  nodePath: string;
  bundlePath: string;
  defaultConfigPath: string;
  /** outlook.ps1's text; written beside the state file before Outlook is read. */
  outlookScript: string;
}

/** The exit code: 0 done, 1 failed or left files pending, 2 bad usage or configuration. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    deps.err(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command] = positionals;
  if (values.help || !command) {
    (values.help ? deps.out : deps.err)(usage);
    return values.help ? 0 : 2;
  }
  let config: AgentConfig;
  try {
    config = loadAgentConfig(values.config ?? deps.defaultConfigPath);
  } catch (error) {
    deps.err((error as Error).message);
    return 2;
  }
  const fromFolder = values['from-folder'] ? resolve(values['from-folder']) : undefined;

  try {
    switch (command) {
      case 'run':
        return await run(config, deps, { dryRun: values['dry-run'] ?? false, ...(fromFolder ? { fromFolder } : {}) });
      case 'install': {
        readToken(config);
        await installTask(deps.commands, {
          nodePath: deps.nodePath,
          bundlePath: deps.bundlePath,
          configPath: config.path,
          ...(fromFolder ? { fromFolder } : {}),
        });
        deps.out(`Registered the hourly task for this user. Check it with: node "${deps.bundlePath}" status`);
        return 0;
      }
      case 'uninstall':
        await uninstallTask(deps.commands);
        deps.out('Removed the task. The configuration, token, state and logs are left in place.');
        return 0;
      case 'status':
        await status(config, deps);
        return 0;
      default:
        deps.err(`Unknown command "${command}"\n\n${usage}`);
        return 2;
    }
  } catch (error) {
    deps.err((error as Error).message);
    return 1;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'from-folder': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
}

async function run(config: AgentConfig, deps: CliDeps, options: { dryRun: boolean; fromFolder?: string }) {
  const token = readToken(config);
  const scriptPath = join(dirname(config.stateFile), 'outlook.ps1');
  if (!options.fromFolder) writeScript(scriptPath, deps.outlookScript);
  const record = await pushExports(options, {
    config,
    endpoint: endpointClient(config.endpoint, token, deps.fetch),
    outlook: powershellOutlookReader(deps.commands, scriptPath),
    log: rollingLog(config.logFile, { now: deps.now }),
    out: deps.out,
    now: deps.now,
    ...(deps.retry ? { retry: deps.retry } : {}),
  });
  deps.out(summary(record));
  for (const file of record.pending)
    deps.out(`  pending: ${file.fileName} (received ${file.receivedAt}): ${file.reason}`);
  if (record.error) deps.err(record.error);
  return record.error || record.pending.length > 0 ? 1 : 0;
}

/** The script goes beside the state: the bundle stays one file, and the script is always the bundle's own. */
function writeScript(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== text) writeFileSync(path, text, 'utf8');
}

function summary(record: RunRecord): string {
  const pushed = record.dryRun ? `${record.pushed} to push` : `${record.pushed} pushed`;
  return `${record.found} new file(s) found: ${pushed}, ${record.alreadyPushed} already pushed, ${record.skipped} left out by the rules, ${record.pending.length} pending`;
}

async function status(config: AgentConfig, deps: CliDeps): Promise<void> {
  const { out } = deps;
  const state = await loadState(config.stateFile);
  let agent: string;
  try {
    agent = parseAgentToken(readToken(config))?.agentId ?? '(none)';
  } catch (error) {
    agent = (error as Error).message;
  }
  out(`Agent:      ${agent}`);
  out(`Endpoint:   ${config.endpoint}`);
  out(`Reads:      ${config.outlook.account ?? 'default mailbox'} / ${config.outlook.folder}`);
  out(
    `Last push:  ${state.lastPush ? `${state.lastPush.at}  ${state.lastPush.fileName} -> ${state.lastPush.key}` : 'none yet'}`,
  );
  const last = state.lastRun;
  out(`Last run:   ${last ? `${last.finishedAt}  ${summary(last)}` : 'none yet'}`);
  if (last?.error) out(`            stopped: ${last.error}`);
  out(`Pending:    ${last?.pending.length ?? 0}`);
  for (const file of last?.pending ?? []) out(`  ${file.fileName} (received ${file.receivedAt}): ${file.reason}`);
  try {
    out(`Task:\n${await queryTask(deps.commands)}`);
  } catch (error) {
    // schtasks says why in the desktop's language: most often, that there is no such task.
    out(`Task:       not installed (run "install"): ${(error as Error).message}`);
  }
}
