import type { AlertMetric } from './config.ts';
import type { AlertHour, RuleStatus } from './contracts.ts';

/** How the day's threshold alerts read, wherever they are shown: the Summary, the emails, the Teams cards. */

/** How a rule reads: `on queue below 80 % (Productivity)`. */
export function describeRule(status: Pick<RuleStatus, 'metric' | 'condition' | 'threshold' | 'type'>): string {
  return `${metricLabels[status.metric as AlertMetric] ?? status.metric} ${status.condition} ${formatValue(status.metric, status.threshold)} (${status.type})`;
}

const metricLabels: Record<AlertMetric, string> = {
  handled: 'handled',
  avgHandleSeconds: 'average handle',
  onQueuePercent: 'on queue',
  rejectedRows: 'rejected rows',
};

/** A figure with its unit: `72.5 %`, `6:05`, `12`. */
export function formatValue(metric: string, value: number): string {
  if (metric === 'onQueuePercent') return `${value} %`;
  if (metric === 'avgHandleSeconds') {
    const seconds = Math.round(value);
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  }
  return String(value);
}

/** One line of a firing: `10:00: 61.2 % (threshold below 80 %; sample 12 agents, volume 12)`. */
export function firingLine(rule: RuleStatus, hour: AlertHour): string {
  return `${hour.hour}: ${formatValue(rule.metric, hour.value)} (threshold ${rule.condition} ${formatValue(rule.metric, rule.threshold)}; sample ${hour.agents} agents, volume ${hour.volume})`;
}

/** One line of a recovery: `recovered at 11:00: 83.5 %`. */
export function recoveryLine(rule: RuleStatus, hour: AlertHour): string {
  return `recovered at ${hour.hour}: ${formatValue(rule.metric, hour.value)}`;
}
