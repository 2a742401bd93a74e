import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DeliverDeps, type DeliveryRecord, deliver } from '../../functions/deliver/deliver.ts';
import { type Config, loadConfigFile, parseConfig } from '../../functions/shared/config.ts';
import type { BuildResult, DeliverInput, FailureInput, RowCounts, Run } from '../../functions/shared/contracts.ts';
import { deliveryKey, reportKey } from '../../functions/shared/keys.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';

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
    // Longer than a presigned URL may live: the link is capped at seven days.
    linkExpiryHours: 240,
  },
});

let stack: LocalStack;
let stackDir: string;
let workbookBytes: Buffer;

function counts(partial: Partial<RowCounts>): RowCounts {
  return { read: 0, inserted: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 0, ...partial };
}

function run(date: string, force = false): Run {
  return {
    date,
    reports: config.exports.map((e) => e.type),
    force,
    deliver: true,
    executionId: `arn:aws:states:us-east-1:000000000000:execution:charlie:daily-${date}`,
    window: { start: `${date}T05:00:00.000Z`, end: `${date}T07:00:00.000Z` },
  };
}

function report(date: string, bytes: number): BuildResult {
  const types = config.exports.map((spec) => {
    const rows = spec.type === 'IB_Calls' ? 1234 : spec.type === 'Dials' ? 567 : 0;
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
    workbook: { bucket: stack.resources.reportsBucket, key: reportKey(date), bytes },
    types,
    totals: counts({ read: 1823, inserted: 1791, updated: 10, rejected: 22 }),
    missing: types.filter((t) => t.rows === 0).map((t) => t.type),
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
    now: () => new Date('2026-03-10T12:00:00Z'),
    ...overrides,
  };
}

async function sentEmails(): Promise<StoredEmail[]> {
  const response = await fetch(`${stack.sesUrl}/store`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails;
}

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

beforeAll(async () => {
  stackDir = await mkdtemp(join(tmpdir(), 'charlie-deliver-'));
  stack = await startLocalStack(stackDir);
  const book = new ExcelJS.Workbook();
  book.addWorksheet('Summary').addRow(['Date', '2026-03-09']);
  workbookBytes = Buffer.from(await book.xlsx.writeBuffer());
});

beforeEach(async () => {
  await fetch(`${stack.sesUrl}/clear-store`, { method: 'POST' });
});

afterAll(async () => {
  await stack.stop();
  await rm(stackDir, { recursive: true, force: true });
});

describe('deliver', () => {
  const DAY = '2026-03-09';

  it('emails the summary, the link and the attached workbook once, and again only when forced', async () => {
    await putWorkbook(DAY);
    const input: DeliverInput = { run: run(DAY), report: report(DAY, workbookBytes.length) };

    const result = await deliver(input, deps());
    expect(result).toMatchObject({ sent: true, attached: true });
    expect(result.recipients).toEqual([
      'operations@example.com',
      'supervisors@example.com',
      'manager@example.com',
      'audit@example.com',
    ]);

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

    const link = result.link ?? '';
    expect(new URL(link).searchParams.get('X-Amz-Expires')).toBe(String(7 * 24 * 3600));
    const text = email.body.text ?? '';
    const html = email.body.html ?? '';
    for (const body of [text, html]) {
      expect(body).toContain('1234');
      expect(body).toContain('567');
      expect(body).toContain('1823 read');
      expect(body).toContain('1791 inserted');
      expect(body).toContain('22 rejected');
      expect(body).toContain('QCBS, Productivity, Campaign_Interactions, ACQ, RESC');
      expect(body).toContain('MISSING');
      // 04:00Z on 2026-03-10 is 23:00 the evening before in Chicago.
      expect(body).toContain('2026-03-09 23:00');
    }
    expect(text).toContain(link);
    expect(html).toContain(`href="${link.replaceAll('&', '&amp;')}"`);

    expect(email.attachments).toHaveLength(1);
    const [attachment] = email.attachments;
    expect(attachment?.filename).toBe(`Charlie-Intraday-${DAY}.xlsx`);
    expect(attachment?.contentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(Buffer.from(attachment?.content ?? '', 'base64').equals(workbookBytes)).toBe(true);

    expect((await download(link)).equals(workbookBytes)).toBe(true);

    const stored = await stack.clients.dynamodb.send(
      new GetCommand({ TableName: stack.resources.table, Key: deliveryKey(DAY) }),
    );
    const record = stored.Item as DeliveryRecord;
    expect(record).toMatchObject({
      messageId: result.messageId,
      recipients: result.recipients,
      reportKey: reportKey(DAY),
      executionId: input.run.executionId,
      sentAt: '2026-03-10T12:00:00.000Z',
      attached: true,
    });
    expect(record.version).toMatch(/^"?[0-9a-f]{32}"?$/);

    await fetch(`${stack.sesUrl}/clear-store`, { method: 'POST' });
    const again = await deliver(input, deps());
    expect(again).toMatchObject({ sent: false, attached: false, recipients: [] });
    expect(again.reason).toMatch(/already delivered/);
    expect(await sentEmails()).toEqual([]);

    const forced = await deliver({ ...input, run: run(DAY, true) }, deps());
    expect(forced).toMatchObject({ sent: true, attached: true });
    const resent = await sentEmails();
    expect(resent.map((e) => e.messageId)).toEqual([forced.messageId]);
    const recorded = await stack.clients.dynamodb.send(
      new GetCommand({ TableName: stack.resources.table, Key: deliveryKey(DAY) }),
    );
    expect(recorded.Item).toMatchObject({ messageId: forced.messageId, forced: true });
  });

  it('sends only the link when the workbook is larger than attachMaxBytes', async () => {
    const date = '2026-03-10';
    await putWorkbook(date);
    const small = parseConfig({
      ...config,
      delivery: { ...config.delivery, attachMaxBytes: workbookBytes.length - 1 },
    });

    const result = await deliver(
      { run: run(date), report: report(date, workbookBytes.length) },
      deps({ config: small }),
    );
    expect(result).toMatchObject({ sent: true, attached: false });

    const [email] = await sentEmails();
    expect(email?.attachments).toEqual([]);
    expect(email?.body.text).toContain(result.link);
    expect(email?.body.text).toContain('not attached');
    expect((await download(result.link ?? '')).equals(workbookBytes)).toBe(true);
  });

  it('tells the admins which execution failed and why', async () => {
    const failure: FailureInput = {
      kind: 'failure',
      executionId: 'arn:aws:states:us-east-1:000000000000:execution:charlie:daily-2026-03-11',
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
    expect(text).toContain(failure.executionId);
    expect(text).toContain('States.TaskFailed');
    expect(text).toContain('Unknown export type Foo <script>');
    expect(text).toContain('"date": "2026-03-11"');
    expect(email?.body.html).toContain('Unknown export type Foo &lt;script&gt;');
    expect(email?.attachments).toEqual([]);
  });
});
