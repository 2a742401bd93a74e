import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import { logger } from '../../functions/common/observability.ts';
import { type LocalRunResult, runLocally } from '../../local/local-run.ts';
import { agentNames } from '../../local/sample-day.ts';

const config = loadConfigFile();

describe('the logs of a whole run', () => {
  let run: LocalRunResult | undefined;
  afterAll(async () => run?.stop());

  it('carry ids and counts, never an agent name, even at the debug level', { timeout: 120_000 }, async () => {
    const written: string[] = [];
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    logger.setLogLevel('DEBUG');
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      run = await runLocally({
        config,
        date: '2026-03-09',
        outDir: mkdtempSync(join(tmpdir(), 'charlie-logs-')),
        now: () => Date.parse('2026-03-10T15:00:00Z'),
      });
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      logger.setLogLevel('SILENT');
    }
    expect(run.execution.succeeded).toBe(true);

    const lines = written.join('').split('\n').filter(Boolean);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // Collect, build and deliver spoke (ingest's own line, in its handler, is checked in the
    // ingest corpus): the check below is not vacuous.
    expect(records.map((r) => r.message)).toEqual(
      expect.arrayContaining(['Not collected', 'Collected', 'workbook written', 'report delivered']),
    );
    const text = lines.join('\n');
    for (const name of agentNames) {
      expect(text).not.toContain(name);
      expect(text).not.toContain(JSON.stringify(name).slice(1, -1));
    }
  });
});
