import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describeRule, firingLine, recoveryLine } from '../common/alerts.ts';
import type { Config } from '../common/config.ts';
import type { AlertHour, DeliverInput, DeliveryResult, RuleStatus } from '../common/contracts.ts';
import { deliveryKey, sentMessageKey } from '../common/keys.ts';
import { logger } from '../common/observability.ts';
import { isTransientAwsError, retry } from '../common/retry.ts';
import { instantToIso } from '../common/time.ts';
import { claim, type DeliverDeps, type DeliveryRecord, type SentMessage, send } from './deliver.ts';
import { type ComposedMessage, composeMime, escapeHtml, executionConsoleUrl } from './message.ts';
import { type AlertEvents, alertsCard, postToTeams } from './teams.ts';

/** The day's alert slot: what was sent, and every firing and recovery already told, by id. */
export interface AlertsRecord extends DeliveryRecord {
  notified?: string[];
}

export const alertsSlot = 'ALERTS';

const awsRetry = { retryable: isTransientAwsError };

/** A firing or recovery is told once a day: this names it. */
function eventId(rule: RuleStatus, hour: AlertHour, what: 'fired' | 'recovered'): string {
  return `${rule.rule}|${hour.hour}|${what}`;
}

/**
 * Tells the alert recipients (and the Teams channel, when configured) of the firings and
 * recoveries of the day's alert status that were not told before, then records them: every run
 * of the day, intraday or daily, rerun or redriven, tells each at most once.
 */
export async function notifyAlerts(
  input: DeliverInput,
  deps: DeliverDeps,
  at: Date,
): Promise<DeliveryResult['alerts'] | undefined> {
  const { run, report } = input;
  const { config } = deps;
  if (!report.alerts || !config.alerts) return undefined;
  const key = deliveryKey(run.date, alertsSlot);
  const stored = await retry(
    () => deps.dynamodb.send(new GetCommand({ TableName: deps.resources.table, Key: key, ConsistentRead: true })),
    awsRetry,
  );
  const notified = new Set((stored.Item as AlertsRecord | undefined)?.notified ?? []);
  const events = report.alerts.rules
    .map((rule) => ({
      rule,
      fired: rule.breached.filter((hour) => !notified.has(eventId(rule, hour, 'fired'))),
      recovered: rule.recovered.filter((hour) => !notified.has(eventId(rule, hour, 'recovered'))),
    }))
    .filter((e) => e.fired.length + e.recovered.length > 0);
  if (events.length === 0) return { fired: 0, recovered: 0 };

  // The slot takes every new event, whatever was sent before: `force` only lets the claim through.
  const taken = await claim(deps, key, { ...run, force: true }, at);
  if (!taken.claimed) return { fired: 0, recovered: 0 };
  const message = await composeAlertsMessage(config, run.date, events, run.executionId, at);
  const messageId = await send(deps, message);
  const ids = events.flatMap((e) => [
    ...e.fired.map((hour) => eventId(e.rule, hour, 'fired')),
    ...e.recovered.map((hour) => eventId(e.rule, hour, 'recovered')),
  ]);
  const sent: SentMessage = {
    kind: 'alerts',
    date: run.date,
    messageId,
    recipients: message.to,
    bucket: report.workbook.bucket,
    reportKey: report.workbook.key,
    attached: false,
    forced: run.force,
    sentAt: at.toISOString(),
    executionId: run.executionId,
  };
  const record: AlertsRecord = { ...key, revision: taken.revision + 1, notified: [...notified, ...ids], sent };
  const table = deps.resources.table;
  await retry(() => deps.dynamodb.send(new PutCommand({ TableName: table, Item: record })), awsRetry);
  const history = { ...sentMessageKey(run.date, sent.sentAt, messageId), ...sent };
  await retry(() => deps.dynamodb.send(new PutCommand({ TableName: table, Item: history })), awsRetry);
  // Posted once the events are recorded: a post that hangs cannot make a retry tell them twice.
  const teams = config.teams?.postAlerts
    ? await postToTeams(deps.teams, alertsCard(run.date, events), 'alerts')
    : false;
  const fired = events.reduce((sum, e) => sum + e.fired.length, 0);
  const recovered = events.reduce((sum, e) => sum + e.recovered.length, 0);
  logger.warn('threshold alerts sent', { date: run.date, fired, recovered, messageId, teams });
  return { messageId, recipients: message.to, fired, recovered, teams };
}

/** The new firings and recoveries, rule by rule, each with its hour, value, threshold and sample. */
export async function composeAlertsMessage(
  config: Config,
  date: string,
  events: AlertEvents[],
  executionId: string,
  sentAt: Date,
): Promise<ComposedMessage> {
  const fired = events.reduce((sum, e) => sum + e.fired.length, 0);
  const recovered = events.reduce((sum, e) => sum + e.recovered.length, 0);
  const subject = `[${config.name}] alerts for ${date}: ${[
    ...(fired > 0 ? [`${fired} breached`] : []),
    ...(recovered > 0 ? [`${recovered} recovered`] : []),
  ].join(', ')}`;
  const to = config.alerts?.recipients ?? config.delivery.admins;
  const rules = events.map(({ rule, fired: hours, recovered: recoveries }) => ({
    title: `${rule.rule}: ${describeRule(rule)}`,
    lines: [...hours.map((hour) => firingLine(rule, hour)), ...recoveries.map((hour) => recoveryLine(rule, hour))],
  }));
  const asOf = instantToIso(sentAt.getTime(), config.timeZone).slice(0, 16).replace('T', ' ');
  const intro = `Threshold alerts for ${date} not told before (as of ${asOf}, ${config.timeZone}); the workbook's Summary lists the day's alerts.`;
  const consoleUrl = executionConsoleUrl(executionId);
  const text = [
    intro,
    '',
    ...rules.flatMap(({ title, lines }) => [title, ...lines.map((line) => `  ${line}`), '']),
    `Execution: ${executionId}`,
    ...(consoleUrl ? [consoleUrl] : []),
  ].join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family:Segoe UI,Arial,Helvetica,sans-serif;font-size:14px;color:#222222">
<p>${escapeHtml(intro)}</p>
${rules
  .map(
    ({ title, lines }) =>
      `<p style="margin:12px 0 4px 0"><strong>${escapeHtml(title)}</strong></p><ul style="margin:0">${lines.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`,
  )
  .join('\n')}
<p style="color:#666666;font-size:12px">Execution: ${escapeHtml(executionId)}</p>
</body></html>`;
  const raw = await composeMime({ from: config.delivery.from, to, subject, date: sentAt, text, html });
  return { raw, subject, to, cc: [], bcc: [] };
}
