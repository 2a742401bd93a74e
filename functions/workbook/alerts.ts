import type { AlertMetric, AlertRule } from '../common/config.ts';
import type { AlertHour, AlertsStatus, RuleStatus } from '../common/contracts.ts';
import type { DayContent, HourFigures } from './stats.ts';

/**
 * The day's threshold alerts: each rule over each completed hour it covers, from the hourly
 * figures the workbook tallied. An hour is completed for a rule when its export type holds an
 * export made after the hour ended: its intervals are in, whatever the clock says. Deterministic
 * from the day's rows, so every run of the day, and every rerun, tells the same hours alike;
 * what was already notified is Deliver's business (functions/deliver/alerts.ts).
 */
export function evaluateAlerts(rules: readonly AlertRule[], day: DayContent): AlertsStatus {
  return { rules: rules.map((rule) => evaluateRule(rule, day)) };
}

function evaluateRule(rule: AlertRule, day: DayContent): RuleStatus {
  const condition = rule.below !== undefined ? 'below' : 'above';
  const threshold = rule.below ?? rule.above ?? 0;
  const status: RuleStatus = {
    rule: rule.name,
    type: rule.type,
    metric: rule.metric,
    condition,
    threshold,
    evaluated: 0,
    tooSmall: 0,
    breached: [],
    recovered: [],
  };
  const figures = day.hourFigures.get(rule.type) ?? [];
  const lastExportAt = day.types.find((t) => t.type === rule.type)?.lastExportAt;
  const completedBy = lastExportAt ? Date.parse(lastExportAt) : Number.NEGATIVE_INFINITY;
  let inBreach = false;
  for (const [slot, hour] of day.hours.entries()) {
    const start = `${pad(hour.hour)}:00`;
    if (rule.hours && (start < rule.hours.from || start >= rule.hours.to)) continue;
    if (hour.startMs + 3_600_000 > completedBy) break;
    const hourFigures = figures[slot];
    const value = hourFigures ? metricValue(rule.metric, hourFigures) : undefined;
    status.evaluated++;
    if (
      !hourFigures ||
      value === undefined ||
      hourFigures.agents < rule.minAgents ||
      hourFigures.volume < rule.minVolume
    ) {
      status.tooSmall++;
      continue;
    }
    const entry: AlertHour = {
      hour: `${start}${hour.zone ? ` ${hour.zone}` : ''}`,
      value,
      agents: hourFigures.agents,
      volume: hourFigures.volume,
    };
    const breached = condition === 'below' ? value < threshold : value > threshold;
    if (breached) {
      status.breached.push(entry);
      inBreach = true;
    } else if (inBreach) {
      status.recovered.push(entry);
      inBreach = false;
    }
  }
  return status;
}

/** The hour's figure in the rule's unit; none where it has no denominator. */
export function metricValue(metric: AlertMetric, hour: HourFigures): number | undefined {
  switch (metric) {
    case 'handled':
      return hour.volume;
    case 'avgHandleSeconds':
      return hour.handled > 0 ? Math.round(hour.handleMs / hour.handled / 1000) : undefined;
    case 'onQueuePercent':
      return hour.loggedInMs > 0 ? Math.round((hour.onQueueMs / hour.loggedInMs) * 1000) / 10 : undefined;
    case 'rejectedRows':
      return hour.rejectedRows;
  }
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
