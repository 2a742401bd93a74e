import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import ExcelJS from 'exceljs';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import {
  type BuildInput,
  type BuildOutput,
  emptyCollectSummary,
  type IgnoredReason,
  type IngestResult,
  type MailSummary,
  type Run,
  type SourceFile,
} from '../../functions/common/contracts.ts';
import { logger } from '../../functions/common/observability.ts';
import { quarantine } from '../../functions/common/quarantine.ts';
import { writeManifest, writeRunResult } from '../../functions/common/run-records.ts';
import { deliver } from '../../functions/deliver/deliver.ts';
import { ingestFile } from '../../functions/ingest/ingest.ts';
import { buildReport } from '../../functions/workbook/build.ts';
import { reasonGroup } from '../../functions/workbook/problems.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { recordSentEmail } from '../deliver/sent-email.ts';
import { AGENT_1, AGENT_2, IB_HEADER, ibLine, putSource } from '../ingest/files.ts';

/**
 * A day with problems and a day without, through the real ingest (which writes the rejects
 * objects), build (which reads them back into the Problems tab) and deliver (the attention
 * block), on the local S3, DynamoDB and SES.
 */

const config = loadConfigFile();
const PROBLEM_DAY = '2026-03-09';
const CLEAN_DAY = '2026-03-10';
const sentAt = new Date('2026-03-12T12:00:00Z');

let stack: LocalStack;
let stackDir: string;
/** Every SendEmail request, as deliver made it. */
const requests: SendEmailCommandInput[] = [];

function run(date: string): Run {
  return {
    date,
    reports: config.exports.map((e) => e.type),
    force: false,
    deliver: true,
    executionId: `arn:aws:states:us-east-1:000000000000:execution:charlie:problems-${date}`,
    window: { start: `${date}T05:00:00.000Z`, end: `${date}T07:00:00.000Z` },
  };
}

/** IB_Calls lines of the day with `Handle` not a number. */
function badHandle(hour: number, name: string, handle: string): string {
  return ibLine(hour, AGENT_2, name, 1, 1000).replace(',1.0,1000', `,${handle},1000`);
}

/** Stores and ingests files as collect and the Map would, and leaves the run's manifest and results for build. */
async function ingestRun(theRun: Run, files: { type: string; body: string; name: string }[], mail: MailSummary) {
  const deps = { config, s3: stack.clients.s3, dynamodb: stack.clients.dynamodb, resources: stack.resources };
  const sources: SourceFile[] = [];
  for (const file of files) {
    sources.push(await putSource(stack, file.type, file.body, `${theRun.date}T15:00:00Z`, file.name, theRun.date));
  }
  const manifest = await writeManifest(stack.clients.s3, stack.resources.dataBucket, {
    executionId: theRun.executionId,
    date: theRun.date,
    files: sources,
    undone: [],
    ignored: [],
  });
  const results: IngestResult[] = [];
  for (const [i, file] of sources.entries()) {
    const result = await ingestFile({ run: theRun, file }, deps);
    results.push(result);
    await writeRunResult(stack.clients.s3, manifest.bucket, theRun, 'ingested', i, result);
  }
  const input: BuildInput = { run: theRun, manifest, mail };
  return { input, results, sources };
}

async function workbook(report: BuildOutput): Promise<ExcelJS.Workbook> {
  const object = await stack.clients.s3.send(
    new GetObjectCommand({ Bucket: report.workbook.bucket, Key: report.workbook.key }),
  );
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(Buffer.from((await object.Body?.transformToByteArray()) ?? []) as unknown as ArrayBuffer);
  return book;
}

/** The rows of a tab as arrays of cell values, from column A. */
function rowsOf(book: ExcelJS.Workbook, tab: string): unknown[][] {
  const sheet = book.getWorksheet(tab);
  if (!sheet) throw new Error(`no tab ${tab}`);
  const rows: unknown[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row) => {
    rows[row.number - 1] = (row.values as unknown[]).slice(1);
  });
  return Array.from(rows, (row) => row ?? []);
}

/** Delivers the report and returns the email's text and HTML parts, read by a second MIME reader. */
async function deliveredParts(theRun: Run, report: BuildOutput): Promise<{ text: string; html: string }> {
  requests.length = 0;
  const result = await deliver(
    { run: theRun, report },
    {
      config,
      s3: stack.clients.s3,
      sesv2: stack.clients.sesv2,
      dynamodb: stack.clients.dynamodb,
      resources: stack.resources,
      links: { baseUrl: 'http://127.0.0.1:9/link', signingKey: async () => 'k'.repeat(64) },
      now: () => sentAt,
    },
  );
  expect(result.sent).toBe(true);
  const [request] = requests;
  const parsed = await simpleParser(Buffer.from(request?.Content?.Raw?.Data ?? new Uint8Array()));
  return { text: parsed.text ?? '', html: typeof parsed.html === 'string' ? parsed.html : '' };
}

const suspicious: IgnoredReason = {
  messageId: '<x1@example.com>',
  subject: 'Scheduled export: IB Calls',
  reason: 'sender noreply@mypurecloud.com is not accepted (mailbox.senders)',
  severity: 'suspicious',
  fix: 'add it or its domain to mailbox.senders',
  count: 85,
  example: 'IB_Calls.csv: sender noreply@mypurecloud.com is not accepted (mailbox.senders)',
};
const newsletter: IgnoredReason = {
  messageId: '<n1@example.com>',
  subject: 'Genesys newsletter',
  reason: 'no attachment',
  severity: 'intentional',
  count: 1,
  example: 'no attachment',
};

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  stackDir = await mkdtemp(join(tmpdir(), 'charlie-problems-'));
  stack = await startLocalStack(stackDir);
  recordSentEmail(stack, requests);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await rm(stackDir, { recursive: true, force: true });
});

describe('problems where the user looks', () => {
  it('groups a row reject’s reason without the value quoted after it', () => {
    expect(reasonGroup('Handle: not a number: abc')).toBe('Handle: not a number');
    expect(reasonGroup('Agent Name: over 32767 characters: xxx: yyy')).toBe('Agent Name: over 32767 characters');
    expect(reasonGroup('Interval Start: missing')).toBe('Interval Start: missing');
    expect(reasonGroup('expected 9 fields, found 2')).toBe('expected 9 fields, found 2');
  });

  it('a day with problems: the Problems tab after the Summary, capped, and the email’s attention block in both parts', async () => {
    const theRun = run(PROBLEM_DAY);
    const badRows = Array.from({ length: 1_002 }, (_, i) => badHandle(9 + (i % 5), `Agent ${i}`, `abc${i}`));
    const { input, results, sources } = await ingestRun(
      theRun,
      [
        {
          type: 'IB_Calls',
          name: 'IB Calls 2026-03-09.csv',
          body: [
            IB_HEADER,
            ibLine(8, AGENT_1, 'Ann Adams', 3, 1000),
            // A name a spreadsheet would take for a formula, on a rejected row.
            badHandle(8, '=1+2', 'lots'),
            '2026-03-09 08:00:00,oops',
            ...badRows,
          ].join('\r\n'),
        },
        { type: 'QCBS', name: 'QCBS.csv', body: 'Interval Start,Something Else\r\n2026-03-09 08:00:00,1\r\n' },
      ],
      {
        ...emptyCollectSummary(),
        messagesSeen: 88,
        messagesIgnored: 86,
        ignored: [suspicious, newsletter],
        ignoredReasonsNotListed: 0,
      },
    );
    await quarantine(stack.clients.s3, stack.resources.dataBucket, {
      source: 'message:'.concat('a'.repeat(64)),
      stage: 'collect',
      date: PROBLEM_DAY,
      reason: 'the message is not valid MIME: no boundary',
      at: '2026-03-09T16:00:00.000Z',
      detail: { subject: 'Scheduled export: Dials', sender: 'no-reply@mypurecloud.com' },
    });
    const ibResult = results[0];
    expect(ibResult?.counts).toMatchObject({ read: 1_005, inserted: 1, rejected: 1_004 });
    expect(results[1]?.fileRejected).toMatch(/header lacks required column/);

    const report = await buildReport(input, {
      config,
      s3: stack.clients.s3,
      dynamodb: stack.clients.dynamodb,
      resources: stack.resources,
    });

    // What Build hands on: counts and capped lists only.
    const numberReason = reasonGroup(
      (report.problems?.rowRejects.reasons ?? []).find((r) => r.reason.startsWith('Handle'))?.reason ?? '',
    );
    expect(report.problems).toEqual({
      rejectedFiles: {
        count: 1,
        listed: [{ file: 'QCBS.csv', type: 'QCBS', reason: results[1]?.fileRejected }],
      },
      rowRejects: {
        count: 1_004,
        reasons: [
          { reason: numberReason, count: 1_003 },
          { reason: 'expected 9 fields, found 2', count: 1 },
        ],
        reasonsNotListed: 0,
      },
      suspiciousIgnored: {
        count: 85,
        listed: [{ reason: suspicious.reason, count: 85, fix: suspicious.fix }],
      },
    });
    expect(numberReason).toMatch(/^Handle: /);
    expect(report.quarantined.count).toBe(1);
    expect(JSON.stringify(report).length).toBeLessThan(8_000);

    const book = await workbook(report);
    expect(book.worksheets.map((sheet) => sheet.name)).toEqual([
      'Summary',
      'Problems',
      ...config.exports.map((spec) => spec.tab),
    ]);
    const problems = rowsOf(book, 'Problems');
    const find = (first: unknown) => problems.findIndex((cells) => cells[0] === first);
    const rowsUnder = (title: string) => problems.slice(find(title) + 2);

    // The file rejected whole: its raw key, where it came from and why.
    expect(rowsUnder('Rejected files')[0]).toEqual([
      'QCBS',
      sources[1]?.key,
      'QCBS.csv',
      `${sources[1]?.messageId} (graph)`,
      results[1]?.fileRejected,
    ]);
    const quarantined = rowsUnder('Quarantined inputs')[0] ?? [];
    expect(quarantined[0]).toBe('collect');
    expect(quarantined[1]).toBe(`message:${'a'.repeat(64)}`);
    expect(quarantined[2]).toBe('subject: Scheduled export: Dials · sender: no-reply@mypurecloud.com');
    expect(quarantined[4]).toBe('the message is not valid MIME: no boundary');
    // Only the suspicious ignores, with what to change; the newsletter is left out on purpose.
    expect(rowsUnder('Mail left out')[0]).toEqual([
      85,
      suspicious.reason,
      suspicious.example,
      suspicious.subject,
      suspicious.fix,
    ]);
    expect(problems.some((cells) => cells[1] === newsletter.reason)).toBe(false);
    expect(rowsUnder('Rejected rows by reason').slice(0, 2)).toEqual([
      [1_003, numberReason],
      [1, 'expected 9 fields, found 2'],
    ]);
    const rejectsUri = `s3://${stack.resources.dataBucket}/${ibResult?.rejectsKey}`;
    expect(rowsUnder('Rejects objects')[0]).toEqual(['IB_Calls', sources[0]?.key, 1_004, rejectsUri]);

    // The first 1,000 rejected rows, with a pointer to the others.
    const title = problems[find('Rejected rows')] ?? [];
    expect(title[1]).toBe('the first 1,000 of 1,004: the others are in the rejects objects above');
    const listed = rowsUnder('Rejected rows');
    expect(problems[find('Rejected rows') + 1]).toEqual(['Export', 'File', 'Line', 'Reason', 'Row as exported']);
    expect(listed).toHaveLength(1_000);
    expect(listed[0]).toEqual([
      'IB_Calls',
      sources[0]?.key,
      3,
      expect.stringMatching(/^Handle: .*: lots$/),
      `2026-03-09 08:00:00,2026-03-09 09:00:00,1.0,Initial Direction: Inbound; Queue: LLSA-ACQ-DM,voice,${AGENT_2},'=1+2,lots,1000`,
    ]);
    expect(listed[1]?.slice(2, 5)).toEqual([4, 'expected 9 fields, found 2', '2026-03-09 08:00:00,oops']);
    expect(listed[999]?.[2]).toBe(1_002);
    expect(book.getWorksheet('Problems')?.autoFilter).toBeDefined();

    const { text, html } = await deliveredParts(theRun, report);
    for (const body of [text, html.replaceAll('&gt;', '>').replaceAll('&#39;', "'")]) {
      expect(body).toMatch(/needs attention/i);
      expect(body).toContain('1 file rejected whole');
      expect(body).toContain(`QCBS.csv (QCBS): ${results[1]?.fileRejected}`);
      expect(body).toContain('1004 rows rejected');
      expect(body).toContain(`1003 × ${numberReason}`);
      expect(body).toContain('1 × expected 9 fields, found 2');
      expect(body).toContain('1 input quarantined');
      expect(body).toContain('the message is not valid MIME: no boundary');
      expect(body).toContain('85 messages left out that looked like exports');
      expect(body).toContain(`85 × ${suspicious.reason} → ${suspicious.fix}`);
      expect(body).not.toContain(newsletter.reason);
      expect(body).toContain('Missing exports (no rows): QCBS, Dials, Productivity');
      expect(body).toContain("Details: the workbook's Problems tab.");
    }
  });

  it('a day without problems: no Problems tab, no problems handed on, and the email says only what is missing', async () => {
    const theRun = run(CLEAN_DAY);
    const { input } = await ingestRun(
      theRun,
      [
        {
          type: 'IB_Calls',
          name: 'IB_Calls.csv',
          body: [IB_HEADER, ibLine(8, AGENT_1, 'Ann Adams', 3, 1000).replaceAll('2026-03-09', CLEAN_DAY)].join('\r\n'),
        },
      ],
      { ...emptyCollectSummary(), ignored: [newsletter], ignoredReasonsNotListed: 0 },
    );
    const report = await buildReport(input, {
      config,
      s3: stack.clients.s3,
      dynamodb: stack.clients.dynamodb,
      resources: stack.resources,
    });
    expect(report.problems).toBeUndefined();
    expect(report.totals).toMatchObject({ read: 1, inserted: 1, rejected: 0 });
    const book = await workbook(report);
    expect(book.worksheets.map((sheet) => sheet.name)).toEqual(['Summary', ...config.exports.map((spec) => spec.tab)]);

    // The other exports never came: that alone is told, and the Summary has the details.
    const { text, html } = await deliveredParts(theRun, report);
    for (const body of [text, html.replaceAll('&#39;', "'")]) {
      expect(body).toMatch(/needs attention/i);
      expect(body).toContain('Missing exports (no rows): QCBS');
      expect(body).not.toContain('rows rejected');
      expect(body).not.toContain('rejected whole');
      expect(body).not.toContain('quarantined');
      expect(body).not.toContain('left out');
      expect(body).toContain("Details: the workbook's Summary tab.");
    }
  });
});
