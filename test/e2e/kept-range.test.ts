import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import { logger } from '../../functions/common/observability.ts';
import { openKeptDir } from '../../local/kept.ts';
import { type DayRow, dayRow, type LocalRunResult, runLocally, scheduledRuns } from '../../local/local-run.ts';
import { startLocalStack } from '../../local/stack.ts';
import { tableRows } from './stored-rows.ts';

const config = loadConfigFile();
const days = ['2026-03-02', '2026-03-03', '2026-03-04'];
// Two export types keep the days short; the sample's late, resent and hourly-repeated mail are all there.
const reports = ['IB_Calls', 'Campaign_Interactions'];
const runner = fileURLToPath(new URL('../../local/run.ts', import.meta.url));

function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `charlie-${name}-`));
}

/** The rows of a kept stack, read by a stack started afresh on its folder. */
async function keptRows(dataDir: string): Promise<string[]> {
  const kept = openKeptDir(dataDir);
  const stack = await startLocalStack(kept.stackDir, { keep: true });
  try {
    return await tableRows(stack);
  } finally {
    await stack.stop();
    kept.release();
  }
}

/** How many emails the kept stack's SES accepted, per day. */
function sentPerDay(dataDir: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of readdirSync(join(dataDir, 'sent'))) {
    const date = name.slice(6, 16);
    counts[date] = (counts[date] ?? 0) + 1;
  }
  return counts;
}

/** A day's line of the summary table, as a day stands: delivered by this run or an earlier one is delivered. */
function standing(row: DayRow): Omit<DayRow, 'delivered'> & { delivered: boolean } {
  return { ...row, delivered: row.delivered !== 'no' };
}

/** `npm start` in a child process on a kept folder, its output collected as it comes. */
function startChild(args: string[]): {
  child: ChildProcess;
  output: () => string;
  seen: (text: string) => Promise<void>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', runner, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiting: { text: string; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const w of waiting.filter((w) => output.includes(w.text))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    child,
    output: () => output,
    seen: (text) =>
      new Promise((resolve, reject) => {
        if (output.includes(text)) return resolve();
        waiting.push({ text, resolve });
        child.once('exit', () => reject(new Error(`The run ended before printing "${text}":\n${output}`)));
      }),
  };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

describe('a range of days on a kept stack', () => {
  const clean = new Map<string, { row: DayRow; rows: string[]; emails: number }>();

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    // Each day alone, on a stack of its own, as the schedule would run it.
    for (const date of days) {
      const run = await runLocally({
        config,
        runs: scheduledRuns(config, date, date, false),
        reports,
        outDir: tempDir('clean-out'),
        keepRunning: true,
      });
      try {
        expect(run.execution.error).toBeUndefined();
        clean.set(date, { row: dayRow(run), rows: await tableRows(run.stack), emails: run.emailPaths.length });
      } finally {
        await run.stop();
      }
    }
  }, 180_000);

  afterAll(() => logger.setLogLevel('INFO'));

  it('runs the days in order, and a rerun of the middle day on the next start ends as three clean runs', {
    timeout: 180_000,
  }, async () => {
    const dataDir = join(tempDir('kept'), 'data');
    const started: string[] = [];
    const range = await runLocally({
      config,
      dataDir,
      runs: scheduledRuns(config, days[0] as string, days[2] as string, false),
      reports,
      outDir: tempDir('range-out'),
      onRun: (run, result) => {
        if (!result) started.push(`${run.date} at ${new Date(run.at).toISOString()}`);
      },
    });
    // The daily run of each day, the next morning at 06:00 in Chicago.
    expect(started).toEqual([
      '2026-03-02 at 2026-03-03T12:00:00.000Z',
      '2026-03-03 at 2026-03-04T12:00:00.000Z',
      '2026-03-04 at 2026-03-05T12:00:00.000Z',
    ]);
    expect(range.runs.map((run) => standing(dayRow(run)))).toEqual(
      days.map((date) => standing(clean.get(date)?.row as DayRow)),
    );

    const rerun: LocalRunResult = await runLocally({
      config,
      dataDir,
      date: days[1],
      reports,
      outDir: tempDir('rerun-out'),
    });
    const { summary } = rerun;
    expect(summary?.totals.inserted).toBe(0);
    expect(summary?.totals.updated).toBe(0);
    expect(summary?.delivery.sent).toBe(false);
    expect(standing(dayRow(rerun))).toEqual(standing(clean.get(days[1] as string)?.row as DayRow));

    // Nothing lost or doubled: the table holds the three clean runs' rows, once each, and the days'
    // emails (the report, and the admins' alert of the types left out) were sent once.
    expect(await keptRows(dataDir)).toEqual(days.flatMap((date) => clean.get(date)?.rows ?? []).sort());
    expect(sentPerDay(dataDir)).toEqual(Object.fromEntries(days.map((date) => [date, clean.get(date)?.emails])));
    const records = openKeptDir(dataDir, { readOnly: true }).executions();
    expect(records.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(records[0]?.name).toBe(rerun.name);
  });

  it('stopped by Ctrl-C, then killed, then started again on the same folder, finishes the day as a clean run', {
    timeout: 180_000,
  }, async () => {
    const dataDir = join(tempDir('killed'), 'data');
    const date = days[0] as string;
    const args = [
      '--data',
      dataDir,
      '--from',
      date,
      '--to',
      date,
      '--reports',
      reports.join(','),
      '--out',
      tempDir('child-out'),
    ];

    // Ctrl-C while Collect runs: the emulators close their files and the folder is let go.
    const interrupted = startChild(args);
    await interrupted.seen('[1/1]');
    interrupted.child.kill('SIGINT');
    expect(await exited(interrupted.child)).toEqual({ code: 130, signal: null });
    expect(interrupted.output()).toContain('Stopped: the emulators closed their files');
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);

    // Started again, and killed outright while the files are being ingested.
    const killed = startChild(args);
    await killed.seen('✓ Collect');
    killed.child.kill('SIGKILL');
    expect((await exited(killed.child)).signal).toBe('SIGKILL');
    expect(existsSync(join(dataDir, 'lock'))).toBe(true);
    const records = openKeptDir(dataDir, { readOnly: true }).executions();
    expect(records.map((r) => r.status).sort()).toEqual(['ABORTED', 'RUNNING']);

    // Its lock is taken over, and the day run again ends as the clean run did.
    const again = await runLocally({ config, dataDir, date, reports, outDir: tempDir('again-out') });
    expect(again.execution.error).toBeUndefined();
    expect(standing(dayRow(again))).toEqual(standing(clean.get(date)?.row as DayRow));
    expect(await keptRows(dataDir)).toEqual(clean.get(date)?.rows);
    expect(sentPerDay(dataDir)).toEqual({ [date]: clean.get(date)?.emails });
  });
});
