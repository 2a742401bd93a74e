import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import ExcelJS from 'exceljs';
import { zipSync } from 'fflate';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../functions/common/config.ts';
import type { BuildOutput, RowCounts } from '../../functions/common/contracts.ts';
import { rejectsKey } from '../../functions/common/keys.ts';
import { logger } from '../../functions/common/observability.ts';
import { CsvParser } from '../../functions/ingest/csv.ts';
import { type ExecutionSummary, type LocalRunResult, runLocally } from '../../local/local-run.ts';
import { runPipeline } from '../../local/pipeline.ts';
import { writeSampleMailbox } from '../../local/sample-day.ts';
import { poisonCases } from '../ingest/poison.ts';

/**
 * One poison input of each class in a day of real-looking mail, through the whole state
 * machine on the local stack: the day succeeds, the good rows reach the workbook, each bad
 * input is reported with its reason, every row is accounted for, and a rerun succeeds too.
 */

// Zip caps small enough for a test to pass them quickly; the defaults are documented in the README.
const config = parseConfig({
  ...loadConfigFile(),
  mailbox: { ...loadConfigFile().mailbox, maxInflatedBytes: 8 * 1024 * 1024 },
});
const date = '2026-03-09';
const now = () => Date.parse('2026-03-10T15:00:00Z');
const sender = 'no-reply@mypurecloud.com';
const IB_HEADER =
  'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle,Avg Handle';
const CAMPAIGN_HEADER =
  'Full Export Completed,Partial Result Timestamp,Filters,Users,Date,Initial Direction,First Queue';

/** An IB_Calls line of the day, for an agent of its own. */
function ibLine(hour: number, agent: string, name: string): string {
  const h = String(hour).padStart(2, '0');
  const next = String(hour + 1).padStart(2, '0');
  return `${date} ${h}:00:00,${date} ${next}:00:00,1.0,Queue: Poison,voice,${agent},${name},2.0,61000.5`;
}

/** An export email as a mail client writes it, sent (and dated) at `hour`:05 UTC of the day. */
async function exportMail(
  subject: string,
  attachments: { filename: string; content: Buffer | string; contentType?: string }[],
  hour = 18,
): Promise<Buffer> {
  return new MailComposer({
    from: `Genesys Cloud <${sender}>`,
    to: 'reports@example.com',
    subject,
    text: 'Your scheduled export is attached.',
    date: new Date(`${date}T${hour}:05:00Z`),
    attachments,
  })
    .compile()
    .build();
}

/** A message of `depth` nested multiparts around one CSV: far deeper than the reader goes. */
function nestedMessage(depth: number): string {
  const head = [
    `From: ${sender}`,
    'To: reports@example.com',
    'Subject: Scheduled export: IB_Calls',
    `Date: ${new Date(`${date}T18:10:00Z`).toUTCString()}`,
    'Message-ID: <nested@mypurecloud.com>',
    'MIME-Version: 1.0',
  ];
  let body = `Content-Type: text/csv; name="IB_Calls_nested.csv"\r\nContent-Disposition: attachment; filename="IB_Calls_nested.csv"\r\n\r\n${IB_HEADER}\r\n${ibLine(8, 'nested', 'Nested')}\r\n`;
  for (let i = depth; i > 0; i--) {
    body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}\r\n--b${i}--\r\n`;
  }
  return `${head.join('\r\n')}\r\n${body}`;
}

async function readText(run: LocalRunResult, bucket: string, key: string): Promise<string> {
  const object = await run.stack.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}

function reconciles(c: RowCounts): boolean {
  return c.read === c.inserted + c.updated + c.unchanged + c.stale + c.rejected;
}

function columnValues(book: ExcelJS.Workbook, tab: string, column: string): unknown[] {
  const values: unknown[] = [];
  book.getWorksheet(tab)?.eachRow((row, n) => {
    if (n > 1) values.push(row.getCell(column).value);
  });
  return values;
}

describe('a day with one poison input of each kind', () => {
  let run: LocalRunResult;
  let summary: ExecutionSummary & Pick<BuildOutput, 'quarantined'>;
  let book: ExcelJS.Workbook;
  const poisonValues = poisonCases.filter((c) => c.rejects.length > 0);

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    const dir = mkdtempSync(join(tmpdir(), 'charlie-poison-day-'));
    const mailbox = join(dir, 'mailbox');
    mkdirSync(mailbox);
    await writeSampleMailbox({ config, date, dir: mailbox });
    const write = (name: string, content: Buffer | string) => writeFileSync(join(mailbox, name), content);

    // Values the store or the workbook cannot hold, one file each, good rows around the bad one.
    for (const [i, poison] of poisonValues.entries()) {
      write(
        `poison-value-${i}.eml`,
        await exportMail('Scheduled export: IB_Calls', [
          { filename: `IB_Calls_poison_${i}.csv`, content: Buffer.from(poison.csv), contentType: 'text/csv' },
        ]),
      );
    }
    // A connection dropped mid-attachment.
    const whole = await exportMail('Scheduled export: IB_Calls', [
      {
        filename: 'IB_Calls_cut.csv',
        content: `${IB_HEADER}\r\n${Array.from({ length: 200 }, (_, i) => ibLine(9, `cut-${i}`, 'Cut')).join('\r\n')}`,
      },
    ]);
    write('poison-truncated.eml', whole.subarray(0, Math.floor(whole.length * 0.6)));
    // 20,000 nested multiparts.
    write('poison-nested.eml', nestedMessage(20_000));
    // A zip bomb: one entry inflating past the cap.
    const bomb = zipSync({ 'IB_Calls_bomb.csv': new Uint8Array(24 * 1024 * 1024).fill(0x41) }, { level: 9 });
    write(
      'poison-bomb.eml',
      await exportMail('Scheduled export: IB_Calls', [{ filename: 'IB_Calls_bomb.zip', content: Buffer.from(bomb) }]),
    );
    // One email with a zip of 400 CSVs: 400 files more in the day.
    const many: Record<string, Uint8Array> = {};
    for (let i = 0; i < 400; i++) {
      many[`IB_Calls_part_${i}.csv`] = new TextEncoder().encode(
        `${IB_HEADER}\r\n${ibLine(11, `zip-${i}`, `Zip ${i}`)}\r\n`,
      );
    }
    write(
      'many-files.eml',
      await exportMail('Scheduled export: IB_Calls', [
        { filename: 'IB_Calls_parts.zip', content: Buffer.from(zipSync(many)) },
      ]),
    );
    // An attachment name of 10,000 characters with a lone surrogate.
    write(
      'long-name.eml',
      await exportMail('Scheduled export: IB_Calls', [
        {
          filename: `IB_Calls_${'n'.repeat(10_000)}\ud800.csv`,
          content: `${IB_HEADER}\r\n${ibLine(12, 'long-name', 'Long Name')}\r\n`,
        },
      ]),
    );
    // A campaign export sent partial, then again once complete: each interaction once.
    const interactions = (complete: string) =>
      `${CAMPAIGN_HEADER}\r\n${[1, 2, 3].map((i) => `${complete},${complete === 'NO' ? `${date} 13:00:00` : ''},Campaign: Poison,Campaigner ${i},${date} 13:0${i}:00,Outbound,LLSA-ACQ-DM`).join('\r\n')}\r\n`;
    write(
      'campaign-partial.eml',
      await exportMail('Scheduled export: Campaign_Interactions', [
        { filename: 'Campaign_Interactions_partial.csv', content: interactions('NO') },
      ]),
    );
    write(
      'campaign-complete.eml',
      await exportMail(
        'Scheduled export: Campaign_Interactions',
        [{ filename: 'Campaign_Interactions_complete.csv', content: interactions('YES') }],
        19,
      ),
    );

    run = await runLocally({
      config,
      date,
      mailboxDir: mailbox,
      deliver: false,
      outDir: join(dir, 'out'),
      keepRunning: true,
      now,
    });
    summary = run.summary as typeof summary;
    book = new ExcelJS.Workbook();
    await book.xlsx.readFile(run.workbookPath as string);
  }, 600_000);

  afterAll(async () => {
    await run?.stop();
    logger.setLogLevel('INFO');
  });

  it('succeeds, within the state limit, and accounts for every row', () => {
    expect(run.execution.succeeded).toBe(true);
    // 400 files from one zip, the sample day's and the poison files: far below 256 KB each state.
    expect(summary.files).toBeGreaterThan(400 + 150);
    expect(run.execution.largestPayload.bytes).toBeLessThan(128 * 1024);
    for (const type of summary.types) expect(reconciles(type.ingest)).toBe(true);
    expect(reconciles(summary.totals)).toBe(true);
    expect(summary.totals.rejected).toBe(poisonValues.reduce((sum, c) => sum + c.rejects.length, 0));
  });

  it('stores the good rows of every poison file and rejects each bad row with its reason', async () => {
    const storedBy = new Map<string, number>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await run.stack.clients.dynamodb.send(
        new ScanCommand({ TableName: run.stack.resources.table, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const key = (item.source as { key?: string } | undefined)?.key;
        if (key) storedBy.set(key, (storedBy.get(key) ?? 0) + 1);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    for (const poison of poisonValues) {
      const key = `raw/${date}/IB_Calls/${createHash('sha256').update(poison.csv).digest('hex')}.csv`;
      expect(storedBy.get(key), poison.name).toBe(poison.stored);
      const parser = new CsvParser();
      const text = await readText(run, run.stack.resources.dataBucket, rejectsKey(key));
      const reasons = [...parser.push(text), ...parser.end()].slice(1).map((r) => r.cells[1]);
      expect(reasons, poison.name).toEqual(poison.rejects.map((r) => r.reason));
    }
  });

  it('quarantines the unreadable messages with their reasons and goes on with the day', () => {
    const reasons = summary.quarantined.listed.map((q) => q.reason).join('\n');
    expect(summary.quarantined.count).toBe(3);
    expect(reasons).toMatch(/cut off|ends before|truncated/i);
    expect(reasons).toMatch(/nest/i);
    expect(reasons).toMatch(/inflat|zip/i);
    expect(summary.quarantined.listed.every((q) => q.stage === 'collect')).toBe(true);
  });

  it('takes the 400 files of one zip, a name of any length, and each campaign interaction once', () => {
    const names = columnValues(book, 'IB Calls', 'A').map(String);
    expect(names.filter((name) => name.startsWith('Zip '))).toHaveLength(400);
    expect(names).toContain('Long Name');
    const users = columnValues(book, 'Campaign Interactions', 'D').map(String);
    expect(users.filter((user) => user.startsWith('Campaigner '))).toHaveLength(3);
  });

  // A whole second run of the day, 400-file zip included: slow on a shared 2-core machine.
  it('reruns the day: nothing new stored, the quarantined inputs skipped, not read again', async () => {
    const before = await run.stack.clients.s3.send(
      new ListObjectsV2Command({ Bucket: run.stack.resources.dataBucket, Prefix: `quarantine/${date}/` }),
    );
    const again = await runPipeline({
      config,
      stack: run.stack,
      mail: undefined,
      links: run.links,
      input: { date, deliver: false },
      now,
    });
    expect(again.succeeded).toBe(true);
    const output = again.output as typeof summary;
    expect(output.totals.inserted + output.totals.updated).toBe(0);
    expect(reconciles(output.totals)).toBe(true);
    expect(output.quarantined.count).toBe(3);
    const after = await run.stack.clients.s3.send(
      new ListObjectsV2Command({ Bucket: run.stack.resources.dataBucket, Prefix: `quarantine/${date}/` }),
    );
    // The records were not written again: the inputs were skipped, not re-read.
    expect(after.Contents?.map((o) => [o.Key, o.LastModified?.getTime()])).toEqual(
      before.Contents?.map((o) => [o.Key, o.LastModified?.getTime()]),
    );
  }, 180_000);
});
