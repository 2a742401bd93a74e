import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import ExcelJS from 'exceljs';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Config, loadConfigFile, parseConfig } from '../../functions/common/config.ts';
import type {
  BuildResult,
  DeliverInput,
  ExecutionStatusChange,
  FailureInput,
  HourlyVolume,
  RowCounts,
  Run,
} from '../../functions/common/contracts.ts';
import { TransientError } from '../../functions/common/errors.ts';
import { deliveryKey, reportKey } from '../../functions/common/keys.ts';
import { logger } from '../../functions/common/observability.ts';
import {
  type DeliverDeps,
  type DeliveryRecord,
  deliver,
  failureNotice,
  isStatusChange,
  type SentMessage,
} from '../../functions/deliver/deliver.ts';
import { type LinkServer, startLinkServer } from '../../local/link-server.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { recordSentEmail } from './sent-email.ts';

interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  attachments: { content: string; contentType: string; filename: string; size: number }[];
}

const shipped = loadConfigFile();
const config: Config = parseConfig({
  ...shipped,
  delivery: {
    ...shipped.delivery,
    to: ['operations@example.com', 'supervisors@example.com'],
    cc: ['manager@example.com'],
    bcc: ['audit@example.com'],
    admins: ['admin@example.com', 'oncall@example.com'],
    linkExpiryHours: 240,
  },
});
const configurationSet = 'charlie-delivery';
// Noon UTC the day after DAY: the day and its grace period are over in Chicago.
const sentAt = new Date('2026-03-10T12:00:00Z');

let stack: LocalStack;
let stackDir: string;
let links: LinkServer;
let workbookBytes: Buffer;
let linkNow = sentAt;
/** Every SendEmail request, as deliver made it. */
const requests: SendEmailCommandInput[] = [];
const linkKey = 'k'.repeat(64);

function counts(partial: Partial<RowCounts>): RowCounts {
  return { read: 0, inserted: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 0, ...partial };
}

function run(date: string, options: { force?: boolean; execution?: string } = {}): Run {
  return {
    date,
    reports: config.exports.map((e) => e.type),
    force: options.force ?? false,
    deliver: true,
    executionId: `arn:aws:states:us-east-1:000000000000:execution:charlie-daily-report:${options.execution ?? `daily-${date}`}`,
    // Chicago's day plus the two-hour grace period.
    window: { start: `${date}T06:00:00.000Z`, end: `${nextDay(date)}T08:00:00.000Z` },
  };
}

function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

const hourly: HourlyVolume[] = [
  { hour: 7, volumes: {} },
  { hour: 8, volumes: { IB_Calls: 120, Dials: 40 } },
  { hour: 9, volumes: { IB_Calls: 300, Dials: 95 } },
  // An hour with no row at all sits between two busy ones.
  { hour: 11, volumes: { IB_Calls: 61 } },
];

/** A build result; `missing` export types have no rows. Results built before hourly volumes and KPIs had neither. */
function report(date: string, options: { missing?: string[]; legacy?: boolean } = {}): BuildResult {
  const missing = options.missing ?? [];
  const types = config.exports.map((spec) => {
    const rows = missing.includes(spec.type) ? 0 : spec.type === 'IB_Calls' ? 1234 : spec.type === 'Dials' ? 567 : 89;
    return {
      type: spec.type,
      tab: spec.tab,
      rows,
      ...(rows > 0 ? { lastExportAt: '2026-03-10T04:00:00.000Z' } : {}),
      ingest: rows > 0 ? counts({ read: rows + 11, inserted: rows - 5, updated: 5, rejected: 11 }) : counts({}),
      files: rows > 0 ? 24 : 0,
    };
  });
  return {
    workbook: { bucket: stack.resources.reportsBucket, key: reportKey(date), bytes: workbookBytes.length },
    types,
    totals: counts({ read: 1823, inserted: 1791, updated: 10, rejected: 22 }),
    missing,
    ...(options.legacy
      ? {}
      : {
          hourly,
          kpis: { callsHandled: 1180, dialsHandled: 560, avgHandleMs: 307_000, onQueuePct: 71.4, agents: 42 },
        }),
  };
}

async function putWorkbook(date: string): Promise<void> {
  await stack.clients.s3.send(
    new PutObjectCommand({ Bucket: stack.resources.reportsBucket, Key: reportKey(date), Body: workbookBytes }),
  );
}

function deps(overrides: Partial<DeliverDeps> = {}): DeliverDeps {
  return {
    config,
    s3: stack.clients.s3,
    sesv2: stack.clients.sesv2,
    dynamodb: stack.clients.dynamodb,
    resources: stack.resources,
    links: { baseUrl: links.baseUrl, signingKey: async () => linkKey },
    configurationSet,
    now: () => sentAt,
    ...overrides,
  };
}

async function sentEmails(): Promise<StoredEmail[]> {
  const response = await fetch(`${stack.sesUrl}/store`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails;
}

async function slot(date: string, name = 'DAILY'): Promise<DeliveryRecord | undefined> {
  const stored = await stack.clients.dynamodb.send(
    new GetCommand({ TableName: stack.resources.table, Key: deliveryKey(date, name) }),
  );
  return stored.Item as DeliveryRecord | undefined;
}

async function history(date: string): Promise<SentMessage[]> {
  const result = await stack.clients.dynamodb.send(
    new QueryCommand({
      TableName: stack.resources.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sent)',
      ExpressionAttributeValues: { ':pk': deliveryKey(date).pk, ':sent': 'SENT#' },
    }),
  );
  return (result.Items ?? []) as SentMessage[];
}

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  stackDir = await mkdtemp(join(tmpdir(), 'charlie-deliver-'));
  stack = await startLocalStack(stackDir);
  recordSentEmail(stack, requests);
  links = await startLinkServer({
    s3: stack.clients.s3,
    bucket: stack.resources.reportsBucket,
    signingKey: async () => linkKey,
    timeZone: config.timeZone,
    now: () => linkNow,
  });
  const book = new ExcelJS.Workbook();
  book.addWorksheet('Summary').addRow(['Date', '2026-03-09']);
  workbookBytes = Buffer.from(await book.xlsx.writeBuffer());
});

beforeEach(async () => {
  await fetch(`${stack.sesUrl}/clear-store`, { method: 'POST' });
  requests.length = 0;
  linkNow = sentAt;
});

afterAll(async () => {
  await links?.stop();
  await stack?.stop();
  await rm(stackDir, { recursive: true, force: true });
});

describe('deliver', () => {
  it('emails the report in text and HTML with the workbook attached and a link that works through the endpoint', async () => {
    const DAY = '2026-03-09';
    await putWorkbook(DAY);
    const input: DeliverInput = { run: run(DAY), report: report(DAY) };

    const result = await deliver(input, deps());
    expect(result).toMatchObject({ sent: true, attached: true, kind: 'daily' });
    expect(result.alertMessageId).toBeUndefined();
    expect(result.recipients).toEqual([
      'operations@example.com',
      'supervisors@example.com',
      'manager@example.com',
      'audit@example.com',
    ]);

    // What the local SES received.
    const [email, ...others] = await sentEmails();
    expect(others).toEqual([]);
    if (!email) throw new Error('nothing was sent');
    expect(email.messageId).toBe(result.messageId);
    expect(email.from).toBe('charlie@example.com');
    expect(email.destination.to).toEqual(['operations@example.com, supervisors@example.com']);
    expect(email.destination.cc).toEqual(['manager@example.com']);
    // Bcc travels in the envelope only, never in the headers the recipients see.
    expect(email.destination.bcc).toEqual([]);
    expect(email.subject).toBe(`Charlie intraday report ${DAY}`);
    expect(Buffer.from(email.attachments[0]?.content ?? '', 'base64').equals(workbookBytes)).toBe(true);

    // The message as handed to SES, parsed back.
    const [request] = requests;
    expect(request?.ConfigurationSetName).toBe(configurationSet);
    expect(request?.Destination?.BccAddresses).toEqual(['audit@example.com']);
    const raw = Buffer.from(request?.Content?.Raw?.Data ?? new Uint8Array());
    const parsed = await simpleParser(raw);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/mixed' });
    expect(raw.toString()).toMatch(/Content-Type: multipart\/alternative/);
    expect(parsed.attachments).toHaveLength(1);
    const [attachment] = parsed.attachments;
    expect(attachment?.filename).toBe(`Charlie-Intraday-${DAY}.xlsx`);
    expect(attachment?.contentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(attachment?.content.equals(workbookBytes)).toBe(true);

    const text = parsed.text ?? '';
    const html = typeof parsed.html === 'string' ? parsed.html : '';
    for (const body of [text, html]) {
      expect(body).toContain('1234');
      expect(body).toContain('567');
      expect(body).toContain('1823 read');
      expect(body).toContain('22 rejected');
      expect(body).toContain('Missing exports: none');
      // All is well: no attention block at all.
      expect(body).not.toMatch(/needs attention/i);
      // 04:00Z on 2026-03-10 is 23:00 the evening before in Chicago: the report's own date goes without saying.
      expect(body).toMatch(/IB Calls(<\/td><td [^>]+>| +)1234(<\/td><td [^>]+>| +)24(<\/td><td [^>]+>| +)23:00/);
      // KPIs: 307 s is 5:07.
      expect(body).toContain('Calls handled');
      expect(body).toContain('1180');
      expect(body).toContain('5:07');
      expect(body).toContain('71.4%');
      expect(body).toContain('Volume by hour');
      // Ten days after 12:00Z, in Chicago.
      expect(body).toContain('2026-03-20 07:00');
    }
    expect(text).toMatch(/^09:00 +300 +95 +#{30}$/m);
    expect(text).toMatch(/^10:00 +0 +0$/m);

    const link = result.link ?? '';
    expect(link.startsWith(links.baseUrl)).toBe(true);
    expect(text).toContain(link);
    expect(html).toContain(`href="${link.replaceAll('&', '&amp;')}"`);

    // A week later, the link still works: the endpoint presigns a fresh S3 URL.
    linkNow = new Date(sentAt.getTime() + 7 * 86_400_000);
    const redirect = await fetch(link, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const location = redirect.headers.get('location') ?? '';
    expect(location.startsWith(`${stack.endpoints.s3}/${stack.resources.reportsBucket}/${reportKey(DAY)}?`)).toBe(true);
    const download = await fetch(location);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="Charlie-Intraday-${DAY}.xlsx"`);
    expect(Buffer.from(await download.arrayBuffer()).equals(workbookBytes)).toBe(true);

    const record = await slot(DAY);
    expect(record?.claim).toBeUndefined();
    expect(record?.sent).toMatchObject({
      kind: 'daily',
      messageId: result.messageId,
      recipients: result.recipients,
      reportKey: reportKey(DAY),
      executionId: input.run.executionId,
      sentAt: '2026-03-10T12:00:00.000Z',
      attached: true,
      forced: false,
    });
    expect(record?.sent?.version).toMatch(/^"?[0-9a-f]{32}"?$/);
    expect(await history(DAY)).toEqual([expect.objectContaining(record?.sent as SentMessage)]);
  });

  it('does not email a delivered day again; forced, it sends once more, once per execution', async () => {
    const DAY = '2026-03-08';
    await putWorkbook(DAY);
    const first = await deliver({ run: run(DAY), report: report(DAY) }, deps());
    expect(first.sent).toBe(true);
    await fetch(`${stack.sesUrl}/clear-store`, { method: 'POST' });

    const rerun = await deliver({ run: run(DAY, { execution: 'rerun' }), report: report(DAY) }, deps());
    expect(rerun).toMatchObject({ sent: false, attached: false, recipients: [] });
    expect(rerun.reason).toMatch(/^already delivered at 2026-03-10T12:00:00.000Z \(message .+\); run with force/);
    expect(await sentEmails()).toEqual([]);

    const forcedInput = { run: run(DAY, { force: true, execution: 'forced' }), report: report(DAY) };
    const forced = await deliver(forcedInput, deps());
    expect(forced).toMatchObject({ sent: true, attached: true });
    expect((await sentEmails()).map((e) => e.messageId)).toEqual([forced.messageId]);

    // The same forced execution again (a Lambda retry, a redrive) does not send twice.
    const retried = await deliver(forcedInput, deps());
    expect(retried.sent).toBe(false);
    expect(retried.reason).toMatch(/^already sent by this execution/);
    expect((await sentEmails()).map((e) => e.messageId)).toEqual([forced.messageId]);

    expect((await slot(DAY))?.sent).toMatchObject({ messageId: forced.messageId, forced: true });
    expect((await history(DAY)).map((m) => m.messageId).sort()).toEqual([first.messageId, forced.messageId].sort());
  });

  it('waits while another execution is sending the same report, and takes over a claim left by a dead one', async () => {
    const DAY = '2026-03-07';
    await putWorkbook(DAY);
    const other = run(DAY, { execution: 'other' }).executionId;
    const stale: DeliveryRecord = {
      ...deliveryKey(DAY),
      revision: 1,
      claim: { executionId: other, at: new Date(sentAt.getTime() - 60_000).toISOString() },
    };
    await stack.clients.dynamodb.send(new PutCommand({ TableName: stack.resources.table, Item: stale }));

    const input = { run: run(DAY), report: report(DAY) };
    await expect(deliver(input, deps())).rejects.toThrow(TransientError);
    await expect(deliver(input, deps())).rejects.toThrow(/other is sending DAILY for 2026-03-07 right now/);
    expect(await sentEmails()).toEqual([]);

    const later = new Date(sentAt.getTime() + 5 * 60_000);
    const result = await deliver(input, deps({ now: () => later }));
    expect(result.sent).toBe(true);
    expect(await slot(DAY)).toMatchObject({ revision: 3, sent: { messageId: result.messageId } });
  });

  it('sends only the link when the workbook is larger than attachMaxBytes', async () => {
    const DAY = '2026-03-06';
    await putWorkbook(DAY);
    const small = parseConfig({
      ...config,
      delivery: { ...config.delivery, attachMaxBytes: workbookBytes.length - 1 },
    });

    const result = await deliver({ run: run(DAY), report: report(DAY) }, deps({ config: small }));
    expect(result).toMatchObject({ sent: true, attached: false });

    const [email] = await sentEmails();
    expect(email?.attachments).toEqual([]);
    expect(email?.body.text).toContain(result.link);
    expect(email?.body.text).toContain('not attached');
    const download = await fetch(result.link ?? '');
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(workbookBytes)).toBe(true);
  });

  it('sends the day so far to the intraday recipients, once per execution, without a missing-exports alert', async () => {
    const DAY = '2026-03-10';
    await putWorkbook(DAY);
    const intradayConfig = parseConfig({
      ...config,
      delivery: { ...config.delivery, intraday: { to: ['floor@example.com'], subject: 'Charlie so far {date}' } },
    });
    // 14:45 in Chicago, the day itself.
    const afternoon = new Date('2026-03-10T19:45:00Z');
    const at = deps({ config: intradayConfig, now: () => afternoon });
    const input = (execution: string): DeliverInput => ({
      run: run(DAY, { execution }),
      report: report(DAY, { missing: ['ACQ'] }),
    });

    const first = await deliver(input('intraday-1445'), at);
    expect(first).toMatchObject({ sent: true, kind: 'intraday', recipients: ['floor@example.com'] });
    expect(first.alertMessageId).toBeUndefined();
    const [email, ...others] = await sentEmails();
    expect(others).toEqual([]);
    expect(email?.destination).toEqual({ to: ['floor@example.com'], cc: [], bcc: [] });
    expect(email?.subject).toBe(`Charlie so far ${DAY}`);
    expect(email?.body.text).toContain(`Charlie intraday report for ${DAY}, the day so far (as of 14:45)`);

    expect((await deliver(input('intraday-1445'), at)).sent).toBe(false);
    expect((await deliver(input('intraday-1600'), at)).sent).toBe(true);
    expect(await sentEmails()).toHaveLength(2);
    expect(await slot(DAY)).toBeUndefined();
    expect((await slot(DAY, 'INTRADAY#intraday-1445'))?.sent?.messageId).toBe(first.messageId);
  });

  it('alerts the admins once when a finished day has missing exports', async () => {
    const DAY = '2026-03-05';
    await putWorkbook(DAY);
    const input: DeliverInput = { run: run(DAY), report: report(DAY, { missing: ['QCBS', 'ACQ'] }) };

    const result = await deliver(input, deps());
    expect(result.sent).toBe(true);
    const emails = await sentEmails();
    expect(emails.map((e) => e.destination.to)).toEqual([
      ['operations@example.com, supervisors@example.com'],
      ['admin@example.com, oncall@example.com'],
    ]);
    const alert = emails[1];
    expect(alert?.messageId).toBe(result.alertMessageId);
    expect(alert?.subject).toBe(`[charlie] missing exports for ${DAY}: QCBS, ACQ`);
    const text = alert?.body.text ?? '';
    expect(text).toContain('without any rows of: QCBS, ACQ');
    expect(text).toMatch(/^QCBS +0 +0 +MISSING$/m);
    expect(text).toContain(
      `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${input.run.executionId}`,
    );
    expect(emails[0]?.body.text).toContain('Missing exports: QCBS, ACQ');
    expect((await slot(DAY, 'MISSING'))?.sent).toMatchObject({
      kind: 'missing-exports',
      messageId: result.alertMessageId,
      recipients: ['admin@example.com', 'oncall@example.com'],
    });

    await fetch(`${stack.sesUrl}/clear-store`, { method: 'POST' });
    const rerun = await deliver({ ...input, run: run(DAY, { execution: 'rerun' }) }, deps());
    expect(rerun.sent).toBe(false);
    expect(rerun.alertMessageId).toBeUndefined();
    expect(await sentEmails()).toEqual([]);
  });

  it('emails a result built before hourly volumes and KPIs existed, without them', async () => {
    const DAY = '2026-03-04';
    await putWorkbook(DAY);
    const result = await deliver({ run: run(DAY), report: report(DAY, { legacy: true }) }, deps());
    expect(result.sent).toBe(true);
    const [email] = await sentEmails();
    for (const body of [email?.body.text ?? '', email?.body.html ?? '']) {
      expect(body).toContain('1234');
      expect(body).not.toContain('Volume by hour');
      expect(body).not.toContain('Calls handled');
    }
  });

  it('tells the admins which execution failed, why, and where to see it', async () => {
    const failure: FailureInput = {
      kind: 'failure',
      executionId: 'arn:aws:states:eu-west-2:000000000000:execution:charlie-daily-report:daily-2026-03-11',
      input: { date: '2026-03-11', force: false },
      error: {
        Error: 'States.TaskFailed',
        Cause: JSON.stringify({ errorType: 'ConfigError', errorMessage: 'Unknown export type Foo <script>' }),
      },
    };
    const result = await deliver(failure, deps());
    expect(result).toMatchObject({
      sent: true,
      attached: false,
      recipients: ['admin@example.com', 'oncall@example.com'],
    });

    const [email, ...others] = await sentEmails();
    expect(others).toEqual([]);
    expect(email?.destination.to).toEqual(['admin@example.com, oncall@example.com']);
    expect(email?.destination.cc).toEqual([]);
    expect(email?.subject).toContain('daily-2026-03-11');
    const text = email?.body.text ?? '';
    const consoleUrl = `https://eu-west-2.console.aws.amazon.com/states/home?region=eu-west-2#/v2/executions/details/${failure.executionId}`;
    expect(text).toContain(consoleUrl);
    expect(email?.body.html).toContain(`href="${consoleUrl}"`);
    expect(text).toContain('States.TaskFailed');
    expect(text).toContain('Unknown export type Foo <script>');
    expect(text).toContain('"date": "2026-03-11"');
    expect(email?.body.html).toContain('Unknown export type Foo &lt;script&gt;');
    expect(email?.attachments).toEqual([]);
    expect(requests[0]?.ConfigurationSetName).toBe(configurationSet);
  });

  it('tells the admins of an execution EventBridge reports failed, timed out or aborted', async () => {
    const executionArn = 'arn:aws:states:eu-west-2:123456789012:execution:charlie-daily-report:7c4f8e1a-0b5d';
    // Shaped as EventBridge delivers "Step Functions Execution Status Change".
    const failed: ExecutionStatusChange = {
      version: '0',
      id: '315c1398-40ff-a850-213b-158f73e60175',
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: '123456789012',
      time: '2026-03-11T11:04:21Z',
      region: 'eu-west-2',
      resources: [executionArn],
      detail: {
        executionArn,
        stateMachineArn: 'arn:aws:states:eu-west-2:123456789012:stateMachine:charlie-daily-report',
        name: '7c4f8e1a-0b5d',
        status: 'FAILED',
        startDate: 1773226800123,
        stopDate: 1773227061456,
        input: '{"date":"2026-03-11","reports":["Dials"]}',
        output: null,
        inputDetails: { included: true },
        outputDetails: null,
        error: 'TransientError',
        cause: JSON.stringify({ errorType: 'TransientError', errorMessage: 'Rate exceeded', trace: [] }),
        redriveCount: 0,
      },
    };
    expect(failureNotice(failed)).toEqual({
      kind: 'failure',
      executionId: executionArn,
      input: { date: '2026-03-11', reports: ['Dials'] },
      error: { Error: 'TransientError', Cause: failed.detail.cause },
    });
    await deliver(failureNotice(failed), deps());
    const [email] = await sentEmails();
    expect(email?.subject).toContain('7c4f8e1a-0b5d');
    expect(email?.body.text).toContain('TransientError');
    expect(email?.body.text).toContain('Rate exceeded');
    expect(email?.body.text).toContain('"reports": [');

    // A timeout or an abort carries no error of its own; an input that is not JSON is shown as text.
    const timedOut = failureNotice({
      ...failed,
      detail: { ...failed.detail, status: 'TIMED_OUT', error: null, cause: null, input: 'not json' },
    });
    expect(timedOut.error).toEqual({
      Error: 'States.Timeout',
      Cause: 'The execution timed out (the state machine allows it two hours).',
    });
    expect(timedOut.input).toBe('not json');
    const aborted = failureNotice({
      ...failed,
      detail: { ...failed.detail, status: 'ABORTED', error: null, cause: null },
    });
    expect(aborted.error.Error).toBe('Aborted');
    expect(isStatusChange(failed)).toBe(true);
    expect(isStatusChange({ kind: 'failure' })).toBe(false);
  });
});
