import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/charlie.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import { reportKey } from '../../functions/common/keys.ts';
import { openKeptDir } from '../../local/kept.ts';
import { serveKeptStack } from '../../local/local-run.ts';
import { captureTerminal } from './terminal.ts';

const config = loadConfigFile();
const terminal = captureTerminal();

function keptDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'charlie-cli-local-')), 'data');
}

describe('charlie --local DIR', () => {
  it('lists the executions a kept stack recorded, as status lists those of AWS', async () => {
    const dir = keptDir();
    const kept = openKeptDir(dir);
    kept.saveExecution({
      executionId: 'arn:aws:states:us-east-1:000000000000:execution:charlie-local:2026-03-02-aaaa',
      name: '2026-03-02-aaaa',
      input: { scheduledTime: '2026-03-03T12:00:00.000Z' },
      status: 'SUCCEEDED',
      startedAt: '2026-03-03T12:00:00.000Z',
      output: {
        date: '2026-03-02',
        types: [
          {
            type: 'IB_Calls',
            rows: 140,
            ingest: { read: 1677, inserted: 140, updated: 0, unchanged: 1397, stale: 140, rejected: 0, blank: 5128 },
          },
        ],
        delivery: { sent: true },
      },
    });
    kept.saveExecution({
      executionId: 'arn:aws:states:us-east-1:000000000000:execution:charlie-local:2026-03-03-bbbb',
      name: '2026-03-03-bbbb',
      input: { date: '2026-03-03' },
      status: 'FAILED',
      startedAt: '2026-03-04T12:00:00.000Z',
      error: { name: 'TransientError', message: 'S3 unreachable' },
      failedState: { state: 'Build', input: {} },
    });
    kept.release();

    expect(await runCli(['status', '--local', dir])).toBe(0);
    const lines = terminal.out.split('\n');
    expect(lines[0]).toBe('2026-03-04T12:00:00.000Z  FAILED    2026-03-03  2026-03-03-bbbb');
    expect(lines[1]).toBe('    error: TransientError: S3 unreachable');
    expect(lines[2]).toBe('2026-03-03T12:00:00.000Z  SUCCEEDED 2026-03-02  2026-03-02-aaaa');
    expect(terminal.out).toContain('IB_Calls                  140 rows  read 1677, inserted 140');

    terminal.out = '';
    expect(await runCli(['status', '--local', dir, '--date', '2026-03-02'])).toBe(0);
    expect(terminal.out).not.toContain('2026-03-03-bbbb');
    expect(terminal.out).toContain('2026-03-02-aaaa');
  });

  it('refuses a folder that holds no kept stack', async () => {
    expect(await runCli(['status', '--local', keptDir()])).toBe(2);
    expect(terminal.err).toMatch(/holds no local stack/);
  });

  it('signs a link to a day of a kept stack while it is served, and says how to serve it when it is not', async () => {
    const dir = keptDir();
    const date = '2026-03-02';
    const served = await serveKeptStack({ config, dataDir: dir });
    try {
      await served.stack.clients.s3.send(
        new PutObjectCommand({ Bucket: served.stack.resources.reportsBucket, Key: reportKey(date), Body: 'workbook' }),
      );
      expect(await runCli(['link', '--local', dir, '--date', date])).toBe(0);
      const url = terminal.out.trim();
      expect(url.startsWith(served.links.baseUrl)).toBe(true);
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('workbook');

      // The kept stack is held by the serving process.
      expect(await runCli(['rerun', '--local', dir, '--date', date])).not.toBe(0);
    } finally {
      await served.stop();
    }
    expect(await runCli(['link', '--local', dir, '--date', date])).toBe(2);
    expect(terminal.err).toContain(`Nothing serves ${dir}`);
  });
});
