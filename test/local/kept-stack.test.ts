import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import { KeptDirError, keptFormat, openKeptDir } from '../../local/kept.ts';
import { scheduledRuns } from '../../local/local-run.ts';
import { startLocalStack } from '../../local/stack.ts';

function freshDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'charlie-kept-')), 'data');
}

describe('a kept stack', () => {
  it('keeps DynamoDB items and S3 objects across a stop and a start on the same folder', async () => {
    const dir = freshDir();
    const first = await startLocalStack(dir, { keep: true });
    await first.clients.dynamodb.send(
      new PutCommand({ TableName: first.resources.table, Item: { pk: 'ROW#kept', sk: '1', value: 42 } }),
    );
    await first.clients.s3.send(
      new PutObjectCommand({ Bucket: first.resources.dataBucket, Key: 'raw/kept.csv', Body: 'a,b\n1,2\n' }),
    );
    await first.stop();

    const second = await startLocalStack(dir, { keep: true });
    try {
      const item = await second.clients.dynamodb.send(
        new GetCommand({ TableName: second.resources.table, Key: { pk: 'ROW#kept', sk: '1' } }),
      );
      expect(item.Item?.value).toBe(42);
      const object = await second.clients.s3.send(
        new GetObjectCommand({ Bucket: second.resources.dataBucket, Key: 'raw/kept.csv' }),
      );
      expect(await object.Body?.transformToString()).toBe('a,b\n1,2\n');
    } finally {
      await second.stop();
    }
  });

  it('starts empty without a folder to keep, as before', async () => {
    const dir = freshDir();
    const first = await startLocalStack(dir);
    await first.clients.dynamodb.send(
      new PutCommand({ TableName: first.resources.table, Item: { pk: 'ROW#gone', sk: '1' } }),
    );
    await first.stop();
    const second = await startLocalStack(dir);
    try {
      const item = await second.clients.dynamodb.send(
        new GetCommand({ TableName: second.resources.table, Key: { pk: 'ROW#gone', sk: '1' } }),
      );
      expect(item.Item).toBeUndefined();
    } finally {
      await second.stop();
    }
  });
});

describe('the kept folder', () => {
  it('is laid out with its format and a link key that stays the same', () => {
    const dir = freshDir();
    const kept = openKeptDir(dir);
    kept.release();
    const layout = JSON.parse(readFileSync(join(dir, 'charlie-local.json'), 'utf8'));
    expect(layout.format).toBe(keptFormat);
    expect(layout.linkKey).toMatch(/^[0-9a-f]{64}$/);
    const again = openKeptDir(dir);
    expect(again.linkKey).toBe(layout.linkKey);
    again.release();
  });

  it('refuses a folder of another format, and a folder it did not lay out', () => {
    const older = freshDir();
    mkdirSync(older, { recursive: true });
    writeFileSync(join(older, 'charlie-local.json'), JSON.stringify({ format: 0 }));
    expect(() => openKeptDir(older)).toThrow(KeptDirError);
    expect(() => openKeptDir(older)).toThrow(/format 0; this version reads format 1 only/);

    const foreign = freshDir();
    mkdirSync(foreign, { recursive: true });
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    expect(() => openKeptDir(foreign)).toThrow(/not empty and has no charlie-local.json/);

    expect(() => openKeptDir(freshDir(), { readOnly: true })).toThrow(/holds no local stack/);
  });

  it('is held by one process at a time; the hold of a process that is gone is taken over', () => {
    const dir = freshDir();
    const held = openKeptDir(dir);
    expect(() => openKeptDir(dir)).toThrow(new RegExp(`in use by process ${process.pid}`));
    // Reading the records needs no hold.
    expect(openKeptDir(dir, { readOnly: true }).executions()).toEqual([]);
    held.release();

    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    writeFileSync(join(dir, 'lock'), gone.stdout.toString());
    const taken = openKeptDir(dir);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(String(process.pid));
    taken.release();
  });

  it('keeps execution records whole, newest first, and the sent mail numbered across processes', () => {
    const dir = freshDir();
    const kept = openKeptDir(dir);
    kept.saveExecution({
      executionId: 'arn:x:a',
      name: 'a',
      input: { date: '2026-03-02' },
      status: 'SUCCEEDED',
      startedAt: '2026-03-03T12:00:00.000Z',
    });
    kept.saveExecution({
      executionId: 'arn:x:b',
      name: 'b',
      input: { date: '2026-03-03' },
      status: 'RUNNING',
      startedAt: '2026-03-04T12:00:00.000Z',
    });
    kept.saveExecution({
      executionId: 'arn:x:b',
      name: 'b',
      input: { date: '2026-03-03' },
      status: 'FAILED',
      startedAt: '2026-03-04T12:00:00.000Z',
      error: { name: 'TransientError', message: 'S3 unreachable' },
      failedState: { state: 'Build', input: { date: '2026-03-03' } },
    });
    expect(kept.executions().map((e) => [e.name, e.status])).toEqual([
      ['b', 'FAILED'],
      ['a', 'SUCCEEDED'],
    ]);
    const first = kept.saveSentMail('2026-03-02', [Buffer.from('one')]);
    kept.release();
    const second = openKeptDir(dir).saveSentMail('2026-03-03', [Buffer.from('two')]);
    expect([...first, ...second].map((path) => path.slice(dir.length))).toEqual([
      '/sent/00001-2026-03-02.eml',
      '/sent/00002-2026-03-03.eml',
    ]);
  });
});

describe('a range of days', () => {
  const config = loadConfigFile();

  it('runs each day the next morning at the daily time, the clocks changing between', () => {
    const runs = scheduledRuns(config, '2026-03-06', '2026-03-07', false);
    // Chicago springs forward at 02:00 on 2026-03-08: 06:00 is 12:00Z the day before, 11:00Z that morning.
    expect(runs.map((run) => [run.date, new Date(run.at).toISOString(), run.intraday ?? false])).toEqual([
      ['2026-03-06', '2026-03-07T12:00:00.000Z', false],
      ['2026-03-07', '2026-03-08T11:00:00.000Z', false],
    ]);
  });

  it("with intraday, runs the day's intraday times before its daily run", () => {
    const withIntraday = { ...config, schedule: { ...config.schedule, intraday: ['10:00', '14:00'] } };
    const runs = scheduledRuns(withIntraday, '2026-03-09', '2026-03-09', true);
    expect(runs.map((run) => [run.date, new Date(run.at).toISOString(), run.intraday ?? false])).toEqual([
      ['2026-03-09', '2026-03-09T15:00:00.000Z', true],
      ['2026-03-09', '2026-03-09T19:00:00.000Z', true],
      ['2026-03-09', '2026-03-10T11:00:00.000Z', false],
    ]);
    expect(scheduledRuns(withIntraday, '2026-03-09', '2026-03-09', false)).toHaveLength(1);
  });
});
