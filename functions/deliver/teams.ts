import { describeRule, firingLine, formatValue, recoveryLine } from '../common/alerts.ts';
import type { Config } from '../common/config.ts';
import type { AlertHour, BuildResult, FailureInput, RuleStatus } from '../common/contracts.ts';
import { CharlieError } from '../common/errors.ts';
import { logger } from '../common/observability.ts';
import { retry } from '../common/retry.ts';
import { instantToIso } from '../common/time.ts';

/**
 * Adaptive Cards posted to a Teams channel through a Workflows webhook ("When a Teams webhook
 * request is received" → "Post card in a chat or channel"). The types below are the part of the
 * Adaptive Card schema, version 1.4, that the cards use: nothing outside them can be built.
 */
export const adaptiveCardVersion = '1.4';

type Spacing = 'None' | 'Small' | 'Default' | 'Medium' | 'Large' | 'ExtraLarge' | 'Padding';

export interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap?: boolean;
  size?: 'Small' | 'Default' | 'Medium' | 'Large' | 'ExtraLarge';
  weight?: 'Lighter' | 'Default' | 'Bolder';
  color?: 'Default' | 'Dark' | 'Light' | 'Accent' | 'Good' | 'Warning' | 'Attention';
  isSubtle?: boolean;
  spacing?: Spacing;
  separator?: boolean;
}

export interface FactSet {
  type: 'FactSet';
  facts: { title: string; value: string }[];
  spacing?: Spacing;
  separator?: boolean;
}

export interface Container {
  type: 'Container';
  items: CardElement[];
  style?: 'default' | 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';
  spacing?: Spacing;
  separator?: boolean;
}

export type CardElement = TextBlock | FactSet | Container;

export interface OpenUrlAction {
  type: 'Action.OpenUrl';
  title: string;
  url: string;
}

export interface AdaptiveCard {
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  type: 'AdaptiveCard';
  version: typeof adaptiveCardVersion;
  body: CardElement[];
  actions?: OpenUrlAction[];
  /** Teams' own property: the card takes the width of the channel. */
  msteams?: { width: 'Full' };
}

/** What the Workflows trigger takes: a message with the card as its one attachment. */
export interface TeamsMessage {
  type: 'message';
  attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive'; contentUrl: null; content: AdaptiveCard }];
}

/** Teams refuses a message over 28 KB; a card is cut to stay under it. */
export const maxTeamsMessageBytes = 28 * 1024;

/** Lines of alerts one card lists; the rest are counted (the email lists every one). */
export const maxCardAlertLines = 40;

export function teamsMessage(body: CardElement[], actions: OpenUrlAction[] = []): TeamsMessage {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: adaptiveCardVersion,
          body,
          ...(actions.length > 0 ? { actions } : {}),
          msteams: { width: 'Full' },
        },
      },
    ],
  };
}

const text = (value: string, extra: Omit<TextBlock, 'type' | 'text'> = {}): TextBlock => ({
  type: 'TextBlock',
  text: value,
  wrap: true,
  ...extra,
});

/** The day's report: rows per export type, the key figures, problems, missing and late exports, the download link. */
export function summaryCard(
  config: Config,
  report: BuildResult & { quarantined?: { count: number } },
  options: { date: string; kind: 'daily' | 'intraday'; link: string; sentAt: Date },
): TeamsMessage {
  const tabOf = (type: string) => report.types.find((t) => t.type === type)?.tab ?? type;
  const asOf = instantToIso(options.sentAt.getTime(), config.timeZone).slice(11, 16);
  const title =
    options.kind === 'intraday'
      ? `Charlie report for ${options.date}, the day so far (as of ${asOf})`
      : `Charlie report for ${options.date}`;
  const problems =
    (report.problems?.rejectedFiles.count ?? 0) +
    (report.problems?.rowRejects.count ?? 0) +
    (report.problems?.suspiciousIgnored.count ?? 0) +
    (report.quarantined?.count ?? 0);
  const kpis = report.kpis ?? {};
  const figures: { title: string; value: string }[] = [
    ...(kpis.callsHandled !== undefined ? [{ title: 'Calls handled', value: String(kpis.callsHandled) }] : []),
    ...(kpis.dialsHandled !== undefined ? [{ title: 'Dials handled', value: String(kpis.dialsHandled) }] : []),
    ...(kpis.agents !== undefined ? [{ title: 'Agents', value: String(kpis.agents) }] : []),
    ...(kpis.avgHandleMs !== undefined
      ? [{ title: 'Average handle', value: formatValue('avgHandleSeconds', kpis.avgHandleMs / 1000) }]
      : []),
    ...(kpis.onQueuePct !== undefined ? [{ title: 'On queue', value: `${kpis.onQueuePct.toFixed(1)} %` }] : []),
  ];
  const breached = report.alerts?.rules.filter((rule) => rule.breached.length > 0) ?? [];
  const body: CardElement[] = [
    text(title, { size: 'Medium', weight: 'Bolder' }),
    {
      type: 'FactSet',
      facts: [
        ...report.types.map((t) => ({ title: t.tab, value: t.rows > 0 ? `${t.rows} rows` : 'MISSING' })),
        { title: 'Total', value: `${report.types.reduce((sum, t) => sum + t.rows, 0)} rows` },
      ],
    },
    ...(figures.length > 0 ? [{ type: 'FactSet', facts: figures, separator: true } satisfies FactSet] : []),
    {
      type: 'FactSet',
      separator: true,
      facts: [
        { title: 'Problems', value: problems > 0 ? `${problems} (see the workbook's Problems tab)` : 'none' },
        { title: 'Missing exports', value: report.missing.length > 0 ? report.missing.map(tabOf).join(', ') : 'none' },
        {
          title: 'Late exports',
          value: report.late && report.late.length > 0 ? report.late.map(tabOf).join(', ') : 'none',
        },
        ...(report.alerts
          ? [
              {
                title: 'Alerts',
                value:
                  breached.length > 0
                    ? breached.map((rule) => `${rule.rule} (${rule.breached.map((h) => h.hour).join(', ')})`).join('; ')
                    : 'none',
              },
            ]
          : []),
      ],
    },
  ];
  return teamsMessage(body, [{ type: 'Action.OpenUrl', title: 'Download the workbook', url: options.link }]);
}

/** A rule's new firings and recoveries, as the alert email tells them. */
export interface AlertEvents {
  rule: RuleStatus;
  fired: AlertHour[];
  recovered: AlertHour[];
}

/** New firings and recoveries, rule by rule, cut to `maxCardAlertLines`. */
export function alertsCard(date: string, events: AlertEvents[]): TeamsMessage {
  const body: CardElement[] = [text(`Charlie alerts for ${date}`, { size: 'Medium', weight: 'Bolder' })];
  let lines = 0;
  let left = 0;
  for (const { rule, fired, recovered } of events) {
    const all = [
      ...fired.map((hour) => ({ line: firingLine(rule, hour), color: 'Attention' as const })),
      ...recovered.map((hour) => ({ line: recoveryLine(rule, hour), color: 'Good' as const })),
    ];
    const shown = all.slice(0, Math.max(0, maxCardAlertLines - lines));
    left += all.length - shown.length;
    lines += shown.length;
    if (shown.length === 0) continue;
    body.push({
      type: 'Container',
      separator: true,
      items: [
        text(`${rule.rule}: ${describeRule(rule)}`, { weight: 'Bolder' }),
        ...shown.map(({ line, color }) => text(line, { color, spacing: 'Small' })),
      ],
    });
  }
  if (left > 0) body.push(text(`… and ${left} more in the alert email`, { isSubtle: true }));
  return teamsMessage(body);
}

/** An execution that ended without success, with the error and a link to it in the console. */
export function failureCard(failure: FailureInput, consoleUrl: string | undefined): TeamsMessage {
  const name = failure.executionId.split(':').pop() ?? failure.executionId;
  const cause = failure.error.Cause ?? 'No cause given.';
  return teamsMessage(
    [
      text(`Charlie run failed: ${name}`, { size: 'Medium', weight: 'Bolder', color: 'Attention' }),
      {
        type: 'FactSet',
        facts: [
          { title: 'Error', value: failure.error.Error ?? 'unknown error' },
          { title: 'Cause', value: cause.length > 1000 ? `${cause.slice(0, 999)}…` : cause },
        ],
      },
    ],
    consoleUrl ? [{ type: 'Action.OpenUrl', title: 'Open the execution', url: consoleUrl }] : [],
  );
}

/** Where cards go: the webhook's URL, read from its secret when first needed. */
export interface TeamsDeps {
  webhookUrl: () => Promise<string>;
}

/** The secret's value: `{"url":"https://…"}`. */
export function readTeamsWebhookSecret(json: unknown): string | undefined {
  const url = (json as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

export const teamsWebhookSecretExample =
  '{"url":"https://….powerplatform.com/…/workflows/…/triggers/manual/paths/invoke?…"}';

/**
 * Posts wait this long for the workflow to answer. A post that gets no answer is not tried again:
 * the summary and alerts posts of one invocation stay well inside Deliver's 60 s.
 */
const postTimeoutMs = 5_000;

/** The workflow answered with an error: transient when throttled (429) or failing (5xx). */
class TeamsPostError extends CharlieError {
  override name = 'TeamsPostError';
}

/**
 * Posts a card; a post that fails (the secret unreadable, the workflow refusing or down) is
 * logged, without the URL, which is a credential, and never fails the delivery. Says whether
 * the workflow accepted it.
 */
export async function postToTeams(teams: TeamsDeps | undefined, message: TeamsMessage, what: string): Promise<boolean> {
  if (!teams) return false;
  const body = JSON.stringify(message);
  if (Buffer.byteLength(body) > maxTeamsMessageBytes) {
    logger.error('Teams card not posted: over the message size Teams takes', { what, bytes: Buffer.byteLength(body) });
    return false;
  }
  try {
    const url = await teams.webhookUrl();
    // A throttled or failing workflow is tried again a few times; a refusal or no answer is not.
    await retry(
      async () => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(postTimeoutMs),
        });
        await response.body?.cancel();
        if (!response.ok) {
          throw new TeamsPostError(`the workflow answered ${response.status}`, {
            transient: response.status === 429 || response.status >= 500,
          });
        }
      },
      { attempts: 3, baseMs: 500, retryable: (error) => error instanceof TeamsPostError && error.transient },
    );
    logger.info('Teams card posted', { what });
    return true;
  } catch (error) {
    logger.error('Teams card not posted', { what, error: (error as Error).message });
    return false;
  }
}
