import type { AlertMetric } from './config.ts';
import type { RuleStatus } from './contracts.ts';

/** How the day's threshold alerts read, wherever they are shown: the Summary, the emails, the Teams cards. */

/** How a rule reads: `on-queue below 80 % (Productivity)`. */
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
