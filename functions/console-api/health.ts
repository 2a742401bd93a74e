import { type CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { ExecutionControl } from '../actions/executions.ts';
import type { Config } from '../common/config.ts';
import { addDays, instantToIso, localDate, localToInstant } from '../common/time.ts';
import type { HealthResponse } from './contract.ts';

/** What the health page shows of the deployment beyond the executions: alarms and dead-letter queues. */
export interface MonitoringSource {
  alarms(): Promise<HealthResponse['alarms']>;
  deadLetterQueues(): Promise<HealthResponse['deadLetterQueues']>;
  /** Parts that do not exist where the API runs. */
  notes: string[];
}

/** CloudWatch in AWS: the stack's alarms by name, and each queue's visible messages (the metric, up to 5 minutes old). */
export function cloudWatchMonitoring(
  cloudwatch: CloudWatchClient,
  alarmNames: readonly string[],
  queueNames: readonly string[],
  now: () => Date,
): MonitoringSource {
  return {
    notes: [],
    async alarms() {
      if (alarmNames.length === 0) return [];
      const found = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [...alarmNames] }));
      return (found.MetricAlarms ?? []).map((alarm) => ({
        name: alarm.AlarmName ?? '',
        state: alarm.StateValue ?? 'INSUFFICIENT_DATA',
      }));
    },
    async deadLetterQueues() {
      if (queueNames.length === 0) return [];
      const end = now();
      const data = await cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(end.getTime() - 15 * 60_000),
          EndTime: end,
          ScanBy: 'TimestampDescending',
          MetricDataQueries: queueNames.map((name, i) => ({
            Id: `q${i}`,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/SQS',
                MetricName: 'ApproximateNumberOfMessagesVisible',
                Dimensions: [{ Name: 'QueueName', Value: name }],
              },
              Period: 300,
              Stat: 'Maximum',
            },
          })),
        }),
      );
      return queueNames.map((name, i) => {
        const values = data.MetricDataResults?.find((r) => r.Id === `q${i}`)?.Values ?? [];
        return { name, depth: values[0] ?? 0 };
      });
    },
  };
}

/** The next scheduled runs (daily and intraday) within a day, in order, as the schedule makes them. */
export function nextRuns(config: Config, now: Date): HealthResponse['nextRuns'] {
  if (!config.schedule.enabled) return [];
  const today = localDate(now.getTime(), config.timeZone);
  const runs: HealthResponse['nextRuns'] = [];
  for (const date of [today, addDays(today, 1)]) {
    const times = [
      { time: config.schedule.daily, kind: 'daily' as const },
      ...config.schedule.intraday.map((time) => ({ time, kind: 'intraday' as const })),
    ];
    for (const { time, kind } of times) {
      const at = localToInstant(`${date} ${time}`, config.timeZone);
      if (at === undefined || at <= now.getTime() || at > now.getTime() + 86_400_000) continue;
      runs.push({
        at: new Date(at).toISOString(),
        local: instantToIso(at, config.timeZone).slice(0, 16).replace('T', ' '),
        kind,
      });
    }
  }
  return runs.sort((a, b) => a.at.localeCompare(b.at));
}

export async function health(
  config: Config,
  executions: ExecutionControl,
  monitoring: MonitoringSource,
  now: Date,
): Promise<HealthResponse> {
  const [latest, alarms, deadLetterQueues] = await Promise.all([
    executions.latest(1, 'SUCCEEDED'),
    monitoring.alarms(),
    monitoring.deadLetterQueues(),
  ]);
  const [succeeded] = latest;
  const date = (succeeded?.output as { date?: string } | undefined)?.date;
  return {
    ...(succeeded
      ? {
          lastSuccessfulRun: {
            at: succeeded.stoppedAt ?? succeeded.startedAt,
            executionId: succeeded.executionId,
            ...(date ? { date } : {}),
          },
        }
      : {}),
    nextRuns: nextRuns(config, now),
    alarms,
    deadLetterQueues,
    ...(monitoring.notes.length ? { notes: monitoring.notes } : {}),
  };
}
