import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as names from '../../functions/common/names.ts';
import { fromRoot } from '../../lib/paths.ts';

/** Every alarm of the template watching a metric of the project's namespace: its metric's name. */
async function alarmedMetricNames(): Promise<string[]> {
  const { synth } = await import('./synth.ts');
  const { template } = synth();
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
  return alarms.flatMap((alarm) => {
    const properties = alarm.Properties as {
      Namespace?: string;
      MetricName?: string;
      Metrics?: { MetricStat?: { Metric: { Namespace: string; MetricName: string } } }[];
    };
    const metrics = [
      { Namespace: properties.Namespace, MetricName: properties.MetricName },
      ...(properties.Metrics ?? []).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : [])),
    ];
    return metrics.filter((m) => m.Namespace === names.METRIC_NAMESPACE).map((m) => String(m.MetricName));
  });
}

function sources(dir: string): { file: string; text: string }[] {
  return readdirSync(fromRoot(dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => ({ file: join(dir, file), text: readFileSync(fromRoot(dir, file), 'utf8') }));
}

describe('names shared by the stack and the functions', () => {
  afterEach(() => {
    vi.doUnmock('../../functions/common/names.ts');
    vi.resetModules();
  });

  it('every alarm on a published metric watches a name of the names module', async () => {
    const alarmed = await alarmedMetricNames();
    expect(new Set(alarmed)).toEqual(
      new Set([names.METRIC.rowsRejected, names.METRIC.missingExports, names.METRIC.lateRuns]),
    );
  });

  it('renaming a metric in the names module moves its alarm with it', async () => {
    vi.resetModules();
    vi.doMock('../../functions/common/names.ts', async (original) => {
      const actual = await original<typeof names>();
      const METRIC = { ...actual.METRIC, rowsRejected: 'RowsRefused', lateRuns: 'RunsOverdue' };
      return { ...actual, METRIC, ROW_COUNT_METRIC: { ...actual.ROW_COUNT_METRIC, rejected: METRIC.rowsRejected } };
    });
    const alarmed = await alarmedMetricNames();
    expect(new Set(alarmed)).toEqual(new Set(['RowsRefused', names.METRIC.missingExports, 'RunsOverdue']));
  });

  it('the functions publish metrics and read environment variables only by the names module', () => {
    const functions = sources('functions');
    const literalMetric = /addMetric\(\s*['`]/;
    const literalVariable = /fromEnvironment\(\s*['`]/;
    expect(functions.filter(({ text }) => literalMetric.test(text)).map(({ file }) => file)).toEqual([]);
    expect(functions.filter(({ text }) => literalVariable.test(text)).map(({ file }) => file)).toEqual([]);
  });

  it('the stack names metrics, environment variables and key prefixes only by the names module', () => {
    const lib = sources('lib');
    const literal =
      /metricName: ['`]|addEnvironment\(\s*['`]|[A-Z_]+_(BUCKET|NAME|URL|SET|ARN): |['`](raw|rejects|excluded|reports|runs|quarantine)\//;
    expect(lib.filter(({ text }) => literal.test(text)).map(({ file }) => file)).toEqual([]);
  });
});
