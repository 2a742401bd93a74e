import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import ExcelJS from 'exceljs';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { mailSummary } from '../../functions/collect/manifest.ts';
import { type Config, ConfigError, loadConfigFile, parseConfig } from '../../functions/common/config.ts';
import {
  type BuildOutput,
  emptyCollectSummary,
  emptyCounts,
  type IngestResult,
  type Run,
  type SourceFile,
} from '../../functions/common/contracts.ts';
import { deliveryKey, rowPartition, rowSortKey } from '../../functions/common/keys.ts';
import { logger } from '../../functions/common/observability.ts';
import type { CellValue, StoredRow } from '../../functions/common/rows.ts';
import { writeManifest, writeRunResult } from '../../functions/common/run-records.ts';
import { type AlertsRecord, alertsSlot } from '../../functions/deliver/alerts.ts';
import { deliver } from '../../functions/deliver/deliver.ts';
import {
  adaptiveCardVersion,
  maxTeamsMessageBytes,
  readTeamsWebhookSecret,
  type TeamsMessage,
} from '../../functions/deliver/teams.ts';
import { buildReport } from '../../functions/workbook/build.ts';
import { type LinkServer, startLinkServer } from '../../local/link-server.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { startTeamsReceiver, type TeamsReceiver } from '../../local/teams-receiver.ts';
import { recordSentEmail } from './sent-email.ts';

const shipped = loadConfigFile();
const hours = { from: '08:00', to: '16:00' };
const config: Config = parseConfig({
  ...shipped,
  delivery: { ...shipped.delivery, admins: ['admin@example.com'] },
  alerts: {
    recipients: ['supervisors@example.com'],
    rules: [
      { name: 'calls-low', type: 'IB_Calls', metric: 'handled', below: 30, hours, minAgents: 2 },
      { name: 'slow-handling', type: 'IB_Calls', metric: 'avgHandleSeconds', above: 400, hours, minVolume: 10 },
      { name: 'on-queue-low', type: 'Productivity', metric: 'onQueuePercent', below: 70, hours, minAgents: 2 },
      { name: 'rejects-high', type: 'IB_Calls', metric: 'rejectedRows', above: 5, hours },
    ],
  },
  teams: { webhookSecretName: 'charlie/teams' },
});

// 2026-03-09 in Chicago is CDT (UTC-5).
const DAY = '2026-03-09';
const local = (hour: number, minute = 0) =>
  `${DAY}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00-05:00`;
const instant = (hour: number, minute = 0) => new Date(local(hour, minute)).toISOString();
const agents = ['Ann', 'Ben', 'Cy'];

let stack: LocalStack;
let stackDir: string;
let links: LinkServer;
let teams: TeamsReceiver;
let executions = 0;

function storedRow(type: string, values: Record<string, CellValue>, exportedAt: string): StoredRow {
  const id = `${type}-${values['Interval Start']}-${values['Agent Id']}`.replace(/\W+/g, '');
  return {
    pk: rowPartition(DAY, type, 0),
    sk: rowSortKey(new Date(String(values['Interval Start'])).toISOString(), id),
    type,
    date: DAY,
    values,
    complete: true,
    exportedAt,
    digest: id,
    source: {
      key: `raw/${DAY}/${type}/${id}.csv`,
      messageId: `<${id}>`,
      receivedAt: exportedAt,
      exportedAt,
      attachmentName: `${type}.csv`,
    },
    ingestedAt: exportedAt,
    expiresAt: Date.parse(`${DAY}T00:00:00Z`) / 1000 + 400 * 86_400,
  };
}

const interval = (hour: number, agent: string) => ({
  'Interval Start': local(hour),
  'Interval End': local(hour + 1),
  'Interval Complete': true,
  Filters: 'Queue: Inbound',
  'Media Type': 'voice',
  'Agent Id': `id-${agent}`,
  'Agent Name': agent,
});

/** A day built to cross each rule once and come back, up to `lastHour`; the comments say where. */
function dayRows(lastHour: number, exportedAt: string): StoredRow[] {
  const rows: StoredRow[] = [];
  for (let hour = 8; hour <= lastHour; hour++) {
    // 14:00 has one agent on calls: too small a sample for calls-low, whatever its volume.
    const onCalls = hour === 14 ? ['Ann'] : agents;
    for (const agent of onCalls) {
      // 10:00 handles 5 calls per agent (15 < 30): calls-low breached; 11:00 is back to 15 each.
      const handle = hour === 10 ? 5 : hour === 14 ? 2 : 15;
      // 12:00's calls take 10 minutes on average (600 s > 400 s): slow-handling breached.
      const avgHandle = hour === 12 ? 600_000 : 300_000;
      rows.push(
        storedRow('IB_Calls', { ...interval(hour, agent), Handle: handle, 'Avg Handle': avgHandle }, exportedAt),
      );
      // 09:00's agents are on queue half their logged-in time (50 % < 70 %); else 80 %.
      const onQueue = hour === 9 ? 1_800_000 : 2_880_000;
      rows.push(
        storedRow(
          'Productivity',
          {
            ...interval(hour, agent),
            'Logged In': 3_600_000,
            'On Queue': onQueue,
            Idle: 0,
            'Off Queue': 3_600_000 - onQueue,
            Interacting: onQueue,
          },
          exportedAt,
        ),
      );
    }
  }
  return rows;
}

async function putRows(rows: StoredRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 25) {
    const batch = rows.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    await stack.clients.dynamodb.send(new BatchWriteCommand({ RequestItems: { [stack.resources.table]: batch } }));
  }
}

/** The day's IB_Calls files: the one exported at 11:05 has 8 rejected rows (above 5: rejects-high breached). */
function files(upToHour: number): { file: SourceFile; result: IngestResult }[] {
  const made: { file: SourceFile; result: IngestResult }[] = [];
  for (let hour = 9; hour <= upToHour; hour++) {
    const key = `raw/${DAY}/IB_Calls/${String(hour).padStart(64, '0')}.csv`;
    const rejected = hour === 11 ? 8 : 0;
    made.push({
      file: {
        bucket: stack.resources.dataBucket,
        key,
        type: 'IB_Calls',
        sha256: String(hour).padStart(64, '0'),
        bytes: 1,
        exportedAt: instant(hour, 5),
        receivedAt: instant(hour, 6),
        messageId: `<ib-${hour}@example.com>`,
        attachmentName: 'IB_Calls.csv',
        origin: 'graph',
      },
      result: { key, type: 'IB_Calls', counts: { ...emptyCounts(), read: 30 + rejected, unchanged: 30, rejected } },
    });
  }
  return made;
}

function run(at: Date): Run {
  executions++;
  return {
    date: DAY,
    reports: config.exports.map((e) => e.type),
    force: false,
    deliver: true,
    executionId: `arn:aws:states:us-east-1:000000000000:execution:charlie-daily-report:alerts-${executions}`,
    window: { start: `${DAY}T05:00:00.000Z`, end: '2026-03-10T07:00:00.000Z' },
    intradayTime: `${String(at.getUTCHours() - 5).padStart(2, '0')}00`,
  };
}

/** Builds the day as it stands (the real workbook stage), then delivers it (the real deliver stage) at `at`. */
async function buildAndDeliver(at: Date, upToFileHour: number) {
  const theRun = run(at);
  const made = files(upToFileHour);
  const manifest = await writeManifest(stack.clients.s3, stack.resources.dataBucket, {
    executionId: theRun.executionId,
    date: DAY,
    files: made.map((m) => m.file),
    undone: [],
    ignored: [],
  });
  for (const [i, { result }] of made.entries()) {
    await writeRunResult(stack.clients.s3, manifest.bucket, theRun, 'ingested', i, result);
  }
  const report: BuildOutput = await buildReport(
    { run: theRun, manifest, mail: mailSummary(emptyCollectSummary()) },
    { config, s3: stack.clients.s3, dynamodb: stack.clients.dynamodb, resources: stack.resources, now: () => at },
  );
  const delivery = await deliver(
    { run: theRun, report },
    {
      config,
      s3: stack.clients.s3,
      sesv2: stack.clients.sesv2,
      dynamodb: stack.clients.dynamodb,
      resources: stack.resources,
      links: { baseUrl: links.baseUrl, signingKey: async () => 'k'.repeat(64) },
      teams: { webhookUrl: async () => teams.url },
      now: () => at,
    },
  );
  return { report, delivery };
}

/** Every message handed to SES since the last `clear()`, parsed back. */
const requests: SendEmailCommandInput[] = [];

async function sentEmails(): Promise<{ subject: string; to: string; text: string }[]> {
  return Promise.all(
    requests.map(async (request) => {
      const parsed = await simpleParser(Buffer.from(request.Content?.Raw?.Data ?? new Uint8Array()));
      const to = parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '';
      return { subject: parsed.subject ?? '', to, text: parsed.text ?? '' };
    }),
  );
}

function clear(): void {
  requests.length = 0;
  teams.posts.length = 0;
}

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  stackDir = await mkdtemp(join(tmpdir(), 'charlie-alerts-'));
  stack = await startLocalStack(stackDir);
  recordSentEmail(stack, requests);
  teams = await startTeamsReceiver();
  links = await startLinkServer({
    s3: stack.clients.s3,
    bucket: stack.resources.reportsBucket,
    signingKey: async () => 'k'.repeat(64),
    timeZone: config.timeZone,
  });
});

beforeEach(() => {
  clear();
  teams.status = 202;
});

afterAll(async () => {
  await teams?.stop();
  await links?.stop();
  await stack?.stop();
  await rm(stackDir, { recursive: true, force: true });
});

/** The Adaptive Card elements and properties of schema version 1.4 the cards may use (adaptivecards.io; the
 * `adaptivecards` renderer's property versions agree): anything else, or a later version's, fails. */
const common14 = [
  'type',
  'id',
  'isVisible',
  'separator',
  'spacing',
  'height',
  'horizontalAlignment',
  'fallback',
  'requires',
  'lang',
];
const allowed14: Record<string, { properties: string[]; enums?: Record<string, string[]> }> = {
  AdaptiveCard: {
    properties: [
      'type',
      'version',
      'body',
      'actions',
      '$schema',
      'msteams',
      'fallbackText',
      'speak',
      'lang',
      'minHeight',
      'verticalContentAlignment',
      'selectAction',
      'backgroundImage',
      'refresh',
      'authentication',
    ],
  },
  TextBlock: {
    properties: [...common14, 'text', 'color', 'fontType', 'isSubtle', 'maxLines', 'size', 'weight', 'wrap'],
    enums: {
      color: ['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention'],
      size: ['Small', 'Default', 'Medium', 'Large', 'ExtraLarge'],
      weight: ['Lighter', 'Default', 'Bolder'],
      spacing: ['None', 'Small', 'Default', 'Medium', 'Large', 'ExtraLarge', 'Padding'],
    },
  },
  FactSet: { properties: [...common14, 'facts'] },
  Container: {
    properties: [
      ...common14,
      'items',
      'selectAction',
      'style',
      'verticalContentAlignment',
      'bleed',
      'backgroundImage',
      'minHeight',
    ],
    enums: { style: ['default', 'emphasis', 'good', 'attention', 'warning', 'accent'] },
  },
  'Action.OpenUrl': { properties: ['type', 'url', 'title', 'iconUrl', 'id', 'style', 'fallback', 'requires'] },
};

/** What in a card is outside Adaptive Card 1.4, by JSON path; empty when it all conforms. */
function schemaProblems(node: unknown, path = '$'): string[] {
  if (typeof node !== 'object' || node === null) return [`${path}: not an object`];
  const object = node as Record<string, unknown>;
  const type = String(object.type);
  const spec = allowed14[type];
  if (!spec) return [`${path}: ${type} is not an element the cards may use in 1.4`];
  const problems = Object.keys(object)
    .filter((key) => !spec.properties.includes(key))
    .map((key) => `${path}.${key}: not a property of ${type} in 1.4`);
  for (const [key, values] of Object.entries(spec.enums ?? {})) {
    if (object[key] !== undefined && !values.includes(String(object[key])))
      problems.push(`${path}.${key}: ${String(object[key])}`);
  }
  if (type === 'AdaptiveCard' && object.version !== '1.4') problems.push(`${path}.version: ${String(object.version)}`);
  if (type === 'TextBlock' && typeof object.text !== 'string') problems.push(`${path}.text: missing`);
  if (type === 'Action.OpenUrl' && typeof object.url !== 'string') problems.push(`${path}.url: missing`);
  if (type === 'FactSet') {
    (object.facts as unknown[]).forEach((fact, i) => {
      const keys = Object.keys(fact as object);
      if (keys.some((k) => k !== 'title' && k !== 'value') || keys.length !== 2) problems.push(`${path}.facts[${i}]`);
      if (Object.values(fact as object).some((v) => typeof v !== 'string'))
        problems.push(`${path}.facts[${i}]: not text`);
    });
  }
  for (const key of ['body', 'items', 'actions'] as const) {
    const children = object[key];
    if (children !== undefined)
      problems.push(...(children as unknown[]).flatMap((child, i) => schemaProblems(child, `${path}.${key}[${i}]`)));
  }
  return problems;
}

function card(post: { body: unknown }): { message: TeamsMessage; problems: string[] } {
  const message = post.body as TeamsMessage;
  expect(message.type).toBe('message');
  expect(message.attachments).toHaveLength(1);
  const [attachment] = message.attachments;
  expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
  expect(attachment.contentUrl).toBeNull();
  expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(maxTeamsMessageBytes);
  return { message, problems: schemaProblems(attachment.content) };
}

const cardText = (message: TeamsMessage) => JSON.stringify(message.attachments[0].content);

describe('threshold alerts', () => {
  it('fires each rule once for the hour that crosses it and tells its recovery once, through the real workbook and deliver stages', async () => {
    // Noon: the rows exported at 12:05 hold 08:00 to 11:00, complete.
    await putRows(dayRows(11, instant(12, 5)));
    const noon = await buildAndDeliver(new Date(instant(12, 10)), 11);
    const status = (name: string) => noon.report.alerts?.rules.find((r) => r.rule === name);
    expect(status('calls-low')).toMatchObject({
      breached: [{ hour: '10:00', value: 15, agents: 3, volume: 15 }],
      recovered: [{ hour: '11:00', value: 45 }],
      evaluated: 4,
    });
    expect(status('on-queue-low')).toMatchObject({
      breached: [{ hour: '09:00', value: 50, agents: 3 }],
      recovered: [{ hour: '10:00', value: 80 }],
    });
    // Its 11:05 file's rejects: breached; 12:00 is not complete yet.
    expect(status('rejects-high')).toMatchObject({ breached: [{ hour: '11:00', value: 8 }], recovered: [] });
    expect(status('slow-handling')).toMatchObject({ breached: [], recovered: [] });
    expect(noon.delivery.alerts).toMatchObject({
      fired: 3,
      recovered: 2,
      teams: true,
      recipients: ['supervisors@example.com'],
    });

    // The alert email: every new firing with its value, threshold and sample, and each recovery.
    const emails = await sentEmails();
    const alertEmail = emails.find((e) => e.subject.includes('alerts for'));
    expect(alertEmail?.subject).toBe(`[charlie] alerts for ${DAY}: 3 breached, 2 recovered`);
    expect(alertEmail?.to).toBe('supervisors@example.com');
    const stored = await stack.clients.dynamodb.send(
      new GetCommand({ TableName: stack.resources.table, Key: deliveryKey(DAY, alertsSlot) }),
    );
    const record = stored.Item as AlertsRecord;
    expect(record.notified).toEqual([
      'calls-low|10:00|fired',
      'calls-low|11:00|recovered',
      'on-queue-low|09:00|fired',
      'on-queue-low|10:00|recovered',
      'rejects-high|11:00|fired',
    ]);
    const alertText = alertEmail?.text ?? '';
    expect(alertText).toContain('calls-low: handled below 30 (IB_Calls)');
    expect(alertText).toContain('10:00: 15 (threshold below 30; sample 3 agents, volume 15)');
    expect(alertText).toContain('recovered at 11:00: 45');
    expect(alertText).toContain('on-queue-low: on queue below 70 % (Productivity)');
    expect(alertText).toContain('09:00: 50 % (threshold below 70 %; sample 3 agents, volume 3)');
    expect(alertText).toContain('rejects-high: rejected rows above 5 (IB_Calls)');

    // The report email lists the day's alerts in its attention block.
    const reportEmail = emails.find((e) => e.subject.startsWith('Charlie intraday report'));
    expect(reportEmail?.text).toContain('Alert calls-low: handled below 30 (IB_Calls)');

    // Teams: the summary card, then the alerts card, both Adaptive Card 1.4.
    expect(teams.posts.map((p) => p.contentType)).toEqual(['application/json', 'application/json']);
    const [summary, alerts] = teams.posts.map(card);
    expect(summary?.problems).toEqual([]);
    expect(alerts?.problems).toEqual([]);
    expect(summary?.message.attachments[0].content.version).toBe(adaptiveCardVersion);
    expect(summary?.message.attachments[0].content.actions?.[0]).toMatchObject({
      type: 'Action.OpenUrl',
      url: noon.delivery.link,
    });
    expect(cardText(summary?.message as TeamsMessage)).toContain('calls-low (10:00)');
    expect(cardText(alerts?.message as TeamsMessage)).toContain('recovered at 10:00: 80 %');

    // The Summary tab's Alerts block.
    const object = await stack.clients.s3.send(
      new GetObjectCommand({ Bucket: noon.report.workbook.bucket, Key: noon.report.workbook.key }),
    );
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Buffer.from((await object.Body?.transformToByteArray()) ?? []) as unknown as ArrayBuffer);
    const rows: unknown[][] = [];
    book.getWorksheet('Summary')?.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    expect(rows).toContainEqual(['calls-low', 'handled below 30 (IB_Calls)', 4, '10:00 (15)', '11:00']);
    expect(rows).toContainEqual(['slow-handling', 'average handle above 6:40 (IB_Calls)', 4, 'none']);

    // The whole day, at 16:10: only what is new is told.
    clear();
    await putRows(dayRows(15, instant(16, 5)));
    const evening = await buildAndDeliver(new Date(instant(16, 10)), 15);
    const later = (name: string) => evening.report.alerts?.rules.find((r) => r.rule === name);
    expect(later('slow-handling')).toMatchObject({
      breached: [{ hour: '12:00', value: 600, volume: 45 }],
      recovered: [{ hour: '13:00', value: 300 }],
    });
    // 14:00 had one agent on calls: too small a sample, neither breached nor fine.
    expect(later('calls-low')).toMatchObject({
      breached: [{ hour: '10:00' }],
      recovered: [{ hour: '11:00' }],
      tooSmall: 1,
    });
    expect(later('rejects-high')).toMatchObject({ recovered: [{ hour: '12:00', value: 0 }] });
    expect(evening.delivery.alerts).toMatchObject({ fired: 1, recovered: 2 });
    const eveningAlert = (await sentEmails()).find((e) => e.subject.includes('alerts for'));
    expect(eveningAlert?.subject).toBe(`[charlie] alerts for ${DAY}: 1 breached, 2 recovered`);
    expect(eveningAlert?.text).not.toContain('10:00: 15');

    // A rerun of the same day sends nothing new: no alert email, no alerts card.
    clear();
    const rerun = await buildAndDeliver(new Date(instant(16, 20)), 15);
    expect(rerun.delivery.alerts).toEqual({ fired: 0, recovered: 0 });
    expect((await sentEmails()).filter((e) => e.subject.includes('alerts for'))).toEqual([]);
    expect(teams.posts.filter((p) => cardText(p.body as TeamsMessage).includes('Charlie alerts'))).toEqual([]);
  });

  it('logs a Teams post the workflow refuses and delivers all the same', async () => {
    const errors = vi.spyOn(logger, 'error');
    teams.status = 500;
    const failed = await buildAndDeliver(new Date(instant(17, 0)), 15);
    expect(failed.delivery).toMatchObject({ sent: true });
    // The summary card, tried three times as a failing workflow is, then given up: logged without the URL.
    expect(teams.posts).toHaveLength(3);
    const logged = errors.mock.calls.map((call) => JSON.stringify(call));
    expect(logged.some((line) => line.includes('Teams card not posted') && line.includes('500'))).toBe(true);
    expect(logged.some((line) => line.includes(teams.url))).toBe(false);
    errors.mockRestore();
  });
});

describe('failure cards', () => {
  it('posts a failed execution to Teams with its error, cause and a button to it, besides the admins’ email', async () => {
    const executionId = 'arn:aws:states:us-east-1:000000000000:execution:charlie-daily-report:failed-1';
    const result = await deliver(
      {
        kind: 'failure',
        executionId,
        input: { date: DAY },
        error: { Error: 'States.DataLimitExceeded', Cause: 'The state output was too large' },
      },
      {
        config,
        s3: stack.clients.s3,
        sesv2: stack.clients.sesv2,
        dynamodb: stack.clients.dynamodb,
        resources: stack.resources,
        links: { baseUrl: links.baseUrl, signingKey: async () => 'k'.repeat(64) },
        teams: { webhookUrl: async () => teams.url },
      },
    );
    expect(result.sent).toBe(true);
    expect((await sentEmails()).map((e) => e.subject)).toEqual(['[charlie] run failed: failed-1']);
    const [post] = teams.posts;
    const { message, problems } = card(post as { body: unknown });
    expect(problems).toEqual([]);
    const text = cardText(message);
    expect(text).toContain('Charlie run failed: failed-1');
    expect(text).toContain('States.DataLimitExceeded');
    expect(message.attachments[0].content.actions?.[0]?.url).toContain(
      'console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/',
    );
  });
});

describe('alert and Teams configuration', () => {
  it('takes the webhook secret only as an https URL', () => {
    expect(readTeamsWebhookSecret({ url: 'https://prod-01.westus.logic.azure.com/workflows/abc' })).toBe(
      'https://prod-01.westus.logic.azure.com/workflows/abc',
    );
    expect(readTeamsWebhookSecret({ url: 'http://example.com/hook' })).toBeUndefined();
    expect(readTeamsWebhookSecret({ url: 'not a url' })).toBeUndefined();
    expect(readTeamsWebhookSecret('https://example.com')).toBeUndefined();
  });

  const base = { ...shipped };
  it('names a rule that gives both bounds, an unknown export type or a metric its export cannot give', () => {
    const bad = () =>
      parseConfig({
        ...base,
        alerts: {
          rules: [
            { name: 'both', type: 'IB_Calls', metric: 'handled', below: 1, above: 2 },
            { name: 'nowhere', type: 'Nope', metric: 'handled', below: 1 },
            { name: 'no-status', type: 'QCBS', metric: 'onQueuePercent', below: 70 },
            { name: 'no-status', type: 'IB_Calls', metric: 'handled', below: 1, hours: { from: '18:00', to: '08:00' } },
          ],
        },
      });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/alerts\.rules\[0\]: give exactly one of "below" and "above"/);
    expect(bad).toThrow(/alerts\.rules\[1\]\.type: "Nope" is not an export type/);
    expect(bad).toThrow(/alerts\.rules\[2\]\.metric: onQueuePercent needs the columns Logged In, On Queue/);
    expect(bad).toThrow(/alerts\.rules\[3\]\.hours: "from" must be before "to"/);
    expect(bad).toThrow(/alerts\.rules\[3\]\.name: names another rule too/);
  });

  it('is off unless configured, and Teams posts everything by default', () => {
    expect(parseConfig(base).alerts).toBeUndefined();
    expect(parseConfig(base).teams).toBeUndefined();
    expect(parseConfig({ ...base, teams: { webhookSecretName: 'charlie/teams' } }).teams).toEqual({
      webhookSecretName: 'charlie/teams',
      postSummary: true,
      postAlerts: true,
      postFailures: true,
    });
  });
});
