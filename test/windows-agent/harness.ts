import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import ExcelJS from 'exceljs';
import type { LocalStack } from '../../local/stack.ts';
import { runCli } from '../../windows-agent/src/cli.ts';
import { loadState } from '../../windows-agent/src/state.ts';
import { FakeWindows } from './fake-windows.ts';

export const outlookScript = readFileSync(new URL('../../windows-agent/outlook.ps1', import.meta.url), 'utf8');

/** Where the desktop keeps node.exe and the agent, as the scheduled task must name them. */
export const desktop = {
  nodePath: 'C:\\Program Files\\nodejs\\node.exe',
  bundlePath: 'C:\\Users\\ops\\CharlieAgent\\charlie-agent.mjs',
};

/** The workbook a pipeline run built, read back from the local S3. */
export async function storedWorkbook(stack: LocalStack, workbook: { bucket: string; key: string }) {
  const object = await stack.clients.s3.send(new GetObjectCommand({ Bucket: workbook.bucket, Key: workbook.key }));
  const book = new ExcelJS.Workbook();
  await book.xlsx.read(object.Body as Readable);
  return book;
}

/** A clock the agent, the endpoint and the pipeline share; the agent's backoff moves it instead of waiting. */
export interface Clock {
  now: number;
}

export interface Desk {
  dir: string;
  configPath: string;
  stateFile: string;
  windows: FakeWindows;
  out: string[];
  err: string[];
  /** Every backoff the agent asked for, in ms. */
  sleeps: number[];
  /** Called on each backoff, before the clock moves on: e.g. to bring the endpoint back. */
  onSleep: (ms: number, count: number) => Promise<void>;
  run(...argv: string[]): Promise<number>;
  state(): ReturnType<typeof loadState>;
}

/** A desktop with the agent installed: its configuration, its token, Windows and Outlook faked. */
export async function desk(options: {
  endpoint: string;
  token: string;
  clock: Clock;
  windows?: FakeWindows;
  config?: Record<string, unknown>;
}): Promise<Desk> {
  const dir = await mkdtemp(join(tmpdir(), 'charlie-agent-desk-'));
  const configPath = join(dir, 'agent.config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      endpoint: options.endpoint,
      outlook: { account: 'reports@example.com', folder: 'Inbox/Genesys' },
      windowHours: 72,
      ...options.config,
    }),
  );
  // As Notepad saves it: a BOM and a line break around the token.
  await writeFile(join(dir, 'token.txt'), `\uFEFF${options.token}\r\n`);
  const result: Desk = {
    dir,
    configPath,
    stateFile: join(dir, 'state.json'),
    windows: options.windows ?? new FakeWindows(),
    out: [],
    err: [],
    sleeps: [],
    onSleep: async () => undefined,
    run: (...argv) =>
      runCli(argv, {
        commands: result.windows,
        now: () => options.clock.now,
        retry: {
          // Jitter fixed at half of each backoff step, so that the delays are exact.
          random: () => 0.5,
          sleep: async (ms) => {
            result.sleeps.push(ms);
            await result.onSleep(ms, result.sleeps.length);
            options.clock.now += ms;
          },
        },
        out: (line) => result.out.push(line),
        err: (line) => result.err.push(line),
        ...desktop,
        defaultConfigPath: configPath,
        outlookScript,
      }),
    state: () => loadState(join(dir, 'state.json')),
  };
  return result;
}
