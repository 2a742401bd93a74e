import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunInput } from '../functions/common/contracts.ts';

/**
 * A folder keeping a local stack between runs (`--data DIR`): the emulators' own files
 * (dynalite's LevelDB under `stack/dynamodb/`, s3rver's under `stack/s3/`), and what no emulator
 * keeps: the state machine's executions (`executions/<name>.json`), the mail SES accepted
 * (`sent/`), the generated mailbox (`mailbox/<date>/`) and the download-link key.
 * `charlie-local.json` names the layout's format; any other format is refused.
 */
export const keptFormat = 1;
const layoutFile = 'charlie-local.json';

export class KeptDirError extends Error {
  override name = 'KeptDirError';
}

export interface KeptDir {
  dir: string;
  /** Gives up this process's hold on the folder. */
  release(): void;
  /** Where a process serving the folder (`--serve`) says its endpoints are, while it is up. */
  announceServing(serving: Serving): void;
  stackDir: string;
  /** Where the generated sample of a day is written, once. */
  mailboxDir(date: string): string;
  /** The key download links are signed with, the same in every process on this folder. */
  linkKey: string;
  saveExecution(record: ExecutionRecord): void;
  executions(): ExecutionRecord[];
  /** Writes the raw messages SES accepted; returns their paths. */
  saveSentMail(date: string, raws: Buffer[]): string[];
}

/** Where a local stack records its executions: a kept folder, or memory for a stack that ends with the process. */
export type ExecutionRecords = Pick<KeptDir, 'saveExecution' | 'executions'>;

export function inMemoryExecutions(): ExecutionRecords {
  const records = new Map<string, ExecutionRecord>();
  return {
    saveExecution: (record) => records.set(record.name, structuredClone(record)),
    executions: () => [...records.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt)),
  };
}

/** What Step Functions keeps of an execution, as `charlie status` shows it. */
export interface ExecutionRecord {
  executionId: string;
  name: string;
  input: RunInput;
  /** RUNNING until it ends: an execution whose process was killed stays RUNNING; ABORTED when stopped by Ctrl-C. */
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  startedAt: string;
  stoppedAt?: string;
  output?: unknown;
  error?: { name: string; message: string };
  /** The state a redrive resumes at, and its input. */
  failedState?: { state: string; input: unknown };
}

/** The endpoints of a process serving a kept stack. */
export interface Serving {
  pid: number;
  linkBaseUrl: string;
  /** The S3 emulator's endpoint, the emulators' fixed credentials, and the bucket the workbooks are in. */
  s3: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  reportsBucket: string;
}

/**
 * Opens DIR as a kept stack, laying it out when it is new or empty; refuses another layout.
 * One process at a time holds it (`lock`, with its pid; the emulators' files allow no other):
 * a lock left by a process that is gone is taken over. `readOnly` reads the records only.
 */
export function openKeptDir(dir: string, options: { readOnly?: boolean } = {}): KeptDir {
  if (options.readOnly && !existsSync(join(dir, layoutFile))) {
    throw new KeptDirError(`${dir} holds no local stack (no ${layoutFile}): start one with npm start -- --data ${dir}`);
  }
  const layoutPath = join(dir, layoutFile);
  if (existsSync(layoutPath)) {
    let format: unknown;
    try {
      format = (JSON.parse(readFileSync(layoutPath, 'utf8')) as { format?: unknown }).format;
    } catch {
      format = undefined;
    }
    if (format !== keptFormat) {
      throw new KeptDirError(
        `${dir} holds a local stack of format ${String(format)}; this version reads format ${keptFormat} only. Use another --data folder, or delete this one to start afresh.`,
      );
    }
  } else if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new KeptDirError(
      `${dir} is not empty and has no ${layoutFile}: it was not written by this version's --data. Use an empty or new folder.`,
    );
  } else {
    mkdirSync(dir, { recursive: true });
    writeAtomically(
      layoutPath,
      `${JSON.stringify({ format: keptFormat, linkKey: randomBytes(32).toString('hex') }, null, 2)}\n`,
    );
  }
  const { linkKey } = JSON.parse(readFileSync(layoutPath, 'utf8')) as { linkKey: string };
  const lockPath = join(dir, 'lock');
  const servingPath = join(dir, 'serving.json');
  if (!options.readOnly) takeLock(lockPath);
  const executionsDir = join(dir, 'executions');
  const sentDir = join(dir, 'sent');
  mkdirSync(executionsDir, { recursive: true });
  mkdirSync(sentDir, { recursive: true });
  return {
    dir,
    release() {
      rmSync(servingPath, { force: true });
      if (!options.readOnly) rmSync(lockPath, { force: true });
    },
    announceServing(serving) {
      writeAtomically(servingPath, `${JSON.stringify(serving, null, 2)}\n`);
    },
    stackDir: join(dir, 'stack'),
    mailboxDir: (date) => join(dir, 'mailbox', date),
    linkKey,
    saveExecution(record) {
      writeAtomically(join(executionsDir, `${record.name}.json`), `${JSON.stringify(record, null, 2)}\n`);
    },
    executions() {
      return readdirSync(executionsDir)
        .filter((name) => name.endsWith('.json'))
        .map((name) => JSON.parse(readFileSync(join(executionsDir, name), 'utf8')) as ExecutionRecord)
        .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    },
    saveSentMail(date, raws) {
      const taken = readdirSync(sentDir).length;
      return raws.map((raw, i) => {
        const path = join(sentDir, `${String(taken + i + 1).padStart(5, '0')}-${date}.eml`);
        writeFileSync(path, raw);
        return path;
      });
    },
  };
}

/** The endpoints of the process serving DIR, and the key its links are signed with; refused when none is up. */
export function keptServing(dir: string): Serving & { linkKey: string } {
  const { linkKey } = openKeptDir(dir, { readOnly: true });
  let serving: Serving | undefined;
  try {
    serving = JSON.parse(readFileSync(join(dir, 'serving.json'), 'utf8')) as Serving;
  } catch {
    serving = undefined;
  }
  if (!serving || !isAlive(serving.pid)) {
    throw new KeptDirError(
      `Nothing serves ${dir}: a link works while the stack is up. Start it with npm start -- --data ${dir} --serve`,
    );
  }
  return { ...serving, linkKey };
}

function takeLock(lockPath: string): void {
  for (;;) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(lockPath, 'utf8'));
    if (isAlive(holder)) {
      throw new KeptDirError(
        `${dirname(lockPath)} is in use by process ${holder} (a run, or --serve): stop it first, or use another --data folder.`,
      );
    }
    rmSync(lockPath, { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A record is either the old one or the new one, never half written, even when the process is killed. */
function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}
