import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import { logger } from '../../functions/common/observability.ts';
import { type EmfRecord, type PipelineResult, runPipeline } from '../../local/pipeline.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';

const config = loadConfigFile();
const date = '2026-03-09';
const executionId = 'arn:aws:states:us-east-1:000000000000:execution:charlie-local:wrapper-1';
const links = { baseUrl: 'http://127.0.0.1:9/', signingKey: async () => 'not used: nothing is delivered' };

/** The EMF records that carry a metric of this name. */
function recordsOf(metrics: EmfRecord[], name: string): EmfRecord[] {
  return metrics.filter((record) =>
    record._aws.CloudWatchMetrics.some((set) => set.Metrics.some((m) => m.Name === name)),
  );
}

describe('the local pipeline runs each stage in the Lambda handler wrapper', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack(mkdtempSync(join(tmpdir(), 'charlie-wrapper-')));
  });
  afterAll(async () => stack?.stop());

  it("puts the run's keys on the stages' log lines and keeps their metrics apart from stdout", async () => {
    const written: string[] = [];
    logger.setLogLevel('INFO');
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });

    let result: PipelineResult;
    try {
      result = await runPipeline({
        config,
        stack,
        mail: undefined,
        links,
        input: { date, deliver: false },
        executionId,
        now: () => Date.parse('2026-03-10T15:00:00Z'),
      });
    } finally {
      stdout.mockRestore();
      logger.setLogLevel('SILENT');
    }

    expect(result.succeeded).toBe(true);
    const lines = written
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((line) => '_aws' in line)).toEqual([]);
    const keys = { executionId, businessDate: date };
    // Collect learns the business date from its input as it runs: its own line carries the execution id.
    expect(lines.find((line) => line.message === 'Collected')).toMatchObject({
      executionId,
      function_name: 'charlie-collect',
    });
    expect(lines.find((line) => line.message === 'workbook written')).toMatchObject({
      ...keys,
      function_name: 'charlie-workbook',
    });
    const [collected] = recordsOf(result.metrics, 'MessagesSeen');
    expect(collected).toMatchObject({ MessagesSeen: 0, AttachmentsStored: 0, service: 'charlie' });
    expect(collected?._aws.CloudWatchMetrics[0]?.Namespace).toBe('Charlie');
    expect(recordsOf(result.metrics, 'WorkbookBytes')[0]?.WorkbookBytes).toBeGreaterThan(0);
  });
});
