import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface AgentLog {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface RollingLogOptions {
  /** A file is rolled over before it would grow past this. */
  maxBytes?: number;
  /** Files kept: the current one and the rolled ones `.1` (newest) to `.<keep - 1>`. */
  keep?: number;
  now?: () => number;
}

/**
 * A log that stays small on the desktop: one JSON line per event, appended synchronously
 * (a run is short, and a line written survives a crash right after it).
 */
export function rollingLog(path: string, options: RollingLogOptions = {}): AgentLog {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const keep = options.keep ?? 5;
  const now = options.now ?? Date.now;
  mkdirSync(dirname(path), { recursive: true });

  const write = (level: string, message: string, fields: LogFields = {}) => {
    const line = `${JSON.stringify({ time: new Date(now()).toISOString(), level, message, ...fields })}\n`;
    if (existsSync(path) && statSync(path).size + Buffer.byteLength(line) > maxBytes) roll(path, keep);
    appendFileSync(path, line, 'utf8');
  };
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

function roll(path: string, keep: number): void {
  rmSync(`${path}.${keep - 1}`, { force: true });
  for (let n = keep - 2; n >= 1; n--) {
    if (existsSync(`${path}.${n}`)) renameSync(`${path}.${n}`, `${path}.${n + 1}`);
  }
  if (keep > 1) renameSync(path, `${path}.1`);
  else rmSync(path, { force: true });
}
