import { CommandError, type CommandRunner } from './commands.ts';

/** The scheduled task's name, as Task Scheduler shows it. */
export const TASK_NAME = 'Charlie Agent';

/** schtasks refuses a /TR command line longer than this. */
const maxTaskCommandLength = 261;

export interface TaskCommand {
  nodePath: string;
  bundlePath: string;
  configPath: string;
  fromFolder?: string;
}

/** The command the task runs: the same `run` an operator types, with absolute paths. */
export function taskCommandLine(command: TaskCommand): string {
  const quote = (value: string) => `"${value}"`;
  return [
    quote(command.nodePath),
    quote(command.bundlePath),
    'run',
    '--config',
    quote(command.configPath),
    ...(command.fromFolder ? ['--from-folder', quote(command.fromFolder)] : []),
  ].join(' ');
}

/**
 * Registers the hourly task for the logged-on user, replacing an earlier registration.
 * `/IT` runs it only while the user is logged on, in their session: Outlook's COM server is
 * not available to a service or to a task that runs whether the user is logged on or not.
 */
export async function installTask(commands: CommandRunner, command: TaskCommand): Promise<string> {
  const line = taskCommandLine(command);
  if (line.length > maxTaskCommandLength) {
    throw new CommandError(
      `The task's command line is ${line.length} characters, over the ${maxTaskCommandLength} schtasks allows: move Node or the agent to a shorter path`,
    );
  }
  return schtasks(commands, ['/Create', '/TN', TASK_NAME, '/TR', line, '/SC', 'HOURLY', '/IT', '/F']);
}

export function uninstallTask(commands: CommandRunner): Promise<string> {
  return schtasks(commands, ['/Delete', '/TN', TASK_NAME, '/F']);
}

/** Task Scheduler's own account of the task (next run, status), in the desktop's language. */
export function queryTask(commands: CommandRunner): Promise<string> {
  return schtasks(commands, ['/Query', '/TN', TASK_NAME, '/FO', 'LIST']);
}

async function schtasks(commands: CommandRunner, args: string[]): Promise<string> {
  const result = await commands.run('schtasks.exe', args);
  if (result.code !== 0) {
    throw new CommandError(`schtasks ${args[0]} failed (exit code ${result.code}): ${result.stderr.trim()}`);
  }
  return result.stdout.trim();
}
