import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { TypeSummary } from '../../functions/common/contracts.ts';
import { logger } from '../../functions/common/observability.ts';
import { type ExecutionSummary, type LocalRunResult, runLocally } from '../../local/local-run.ts';
import {
  type SampleDay,
  type SampleScale,
  type SampleTypeCounts,
  scenarios,
  writeSampleDay,
} from '../../local/sample-day.ts';

const config = loadConfigFile();
const date = '2026-03-09';
const now = () => Date.parse('2026-03-10T15:00:00Z');

/** The large day with fewer agents: the same intervals, cadence and zipped mail, and so as many files. */
const scale: SampleScale = { ...scenarios.large, agents: 24 };

/** Half Step Functions' 256 KB state limit. */
const budgetBytes = 128 * 1024;

describe('the large day at 24 agents through the local pipeline', () => {
  let dir: string;
  let day: SampleDay;
  let run: LocalRunResult;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    dir = mkdtempSync(join(tmpdir(), 'charlie-large-'));
    // The same seed and scale as the run below: what the generator says the day holds.
    day = await writeSampleDay({ config, date, dir: join(dir, 'mailbox'), scale });
    run = await runLocally({
      config,
      date,
      sampleScale: scale,
      deliver: false,
      outDir: join(dir, 'out'),
      now,
    });
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ingests every file of the day, as many as the large day has', () => {
    expect(run.execution.error).toBeUndefined();
    expect(run.execution.succeeded).toBe(true);
    const summary = run.summary as ExecutionSummary;
    // Each type hourly from 01:00 to 23:00, the whole-day re-export, a resent export and a newsletter,
    // whatever the agents: the large day's mail.
    expect(day.emails).toHaveLength(config.exports.length * 23 + 3);
    expect(day.emails.filter((email) => email.attachment?.zipped)).toHaveLength(config.exports.length * 23 + 2);
    // Files are stored by content: the resent export, or an hour with nothing new, is one file.
    expect(summary.files).toBe(Object.values(day.types).reduce((sum, type) => sum + type.files, 0));
    expect(summary.quarantined.count).toBe(0);
  });

  it('reconciles per type: every row read is counted once, and the rows kept are the distinct rows generated', () => {
    const summary = run.summary as ExecutionSummary;
    for (const spec of config.exports) {
      const generated = day.types[spec.type] as SampleTypeCounts;
      const type = summary.types.find((t) => t.type === spec.type) as TypeSummary;
      expect(generated, spec.type).toBeDefined();
      expect(type, spec.type).toBeDefined();
      const { read, inserted, updated, unchanged, stale, rejected } = type.ingest;
      expect(read, spec.type).toBe(inserted + updated + unchanged + stale + rejected);
      expect(rejected, spec.type).toBe(0);
      expect(read, spec.type).toBe(generated.rows);
      expect(type.files, spec.type).toBe(generated.files);
      expect(type.rows, spec.type).toBe(generated.distinct);
      // Hourly exports of the day so far: each row is read many times over, and kept once.
      expect(read, spec.type).toBeGreaterThan(5 * generated.distinct);
    }
  });

  it('keeps every state input and output under half the limit', () => {
    const { largestPayload } = run.execution;
    expect(largestPayload.bytes).toBeGreaterThan(0);
    expect(largestPayload.bytes).toBeLessThanOrEqual(budgetBytes);
  });
});
