import { execFile } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The Windows programs the agent starts (powershell.exe, schtasks.exe), behind one call so
 * that tests on any system see the exact command lines and answer for Windows.
 */
export interface CommandRunner {
  run(command: string, args: readonly string[]): Promise<CommandResult>;
}

export class CommandError extends Error {
  override name = 'CommandError';
}

export const systemCommandRunner: CommandRunner = {
  run: (command, args) =>
    new Promise((resolve, reject) => {
      // No shell: each argument reaches the program as given. windowsHide: no console window flashes up.
      execFile(command, args, { windowsHide: true, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new CommandError(`Cannot run ${command}: ${error.message}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      });
    }),
};
