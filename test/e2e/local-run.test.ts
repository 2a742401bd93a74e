import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { RowCounts } from '../../functions/common/contracts.ts';
import { logger } from '../../functions/common/observability.ts';
import { type ExecutionSummary, type LocalRunResult, runLocally } from '../../local/local-run.ts';
import { runPipeline } from '../../local/pipeline.ts';

const config = loadConfigFile();
const date = '2026-03-09';
// The day after, mid-morning in Chicago: every export of the day, and the grace period, are in.
const now = () => Date.parse('2026-03-10T15:00:00Z');

interface StoredEmail {
  subject: string;
  destination: { to: string[] };
  attachments: { filename?: string; content: string }[];
  body: { html?: string; text?: string };
}

async function sesStore(run: LocalRunResult): Promise<StoredEmail[]> {
  const response = await fetch(`${run.stack.sesUrl}/store`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails;
}

function reconciles(c: RowCounts): boolean {
  return c.read === c.inserted + c.updated + c.unchanged + c.stale + c.rejected;
}

describe('the local pipeline on a generated sample day', () => {
  let run: LocalRunResult;
  let summary: ExecutionSummary;
  const out = mkdtempSync(join(tmpdir(), 'charlie-out-'));

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    run = await runLocally({ config, date, outDir: out, keepRunning: true, now });
    expect(run.execution.error).toBeUndefined();
    summary = run.summary as ExecutionSummary;
  });
  afterAll(async () => run?.stop());

  it('ingests all seven export types and accounts for every row', () => {
    expect(run.execution.succeeded).toBe(true);
    expect(summary.date).toBe(date);
    expect(summary.types.map((t) => t.type)).toEqual(config.exports.map((e) => e.type));
    expect(summary.missing).toEqual([]);
    for (const type of summary.types) {
      expect(type.rows, type.type).toBeGreaterThan(0);
      expect(reconciles(type.ingest), type.type).toBe(true);
      // Hourly re-exports repeat earlier rows and complete the open interval.
      expect(type.ingest.unchanged, type.type).toBeGreaterThan(0);
      expect(type.ingest.blank, type.type).toBeGreaterThan(0);
    }
    expect(reconciles(summary.totals)).toBe(true);
    expect(summary.totals.read).toBeGreaterThan(summary.totals.inserted);
    expect(summary.mail.messagesIgnored).toBeGreaterThanOrEqual(1);
    expect(summary.mail.ignored.map((reason) => reason.reason)).toContainEqual(
      expect.stringMatching(/is not accepted \(mailbox.senders\); nothing it sent looks like an export/),
    );
    // Lists are in the run's manifest; the states stay far below Step Functions' 256 KB.
    expect(summary.files).toBe(summary.types.reduce((sum, t) => sum + t.files, 0));
    expect(summary.manifest.key).toMatch(new RegExp(`^runs/${date}/[^/]+/manifest\\.json$`));
    expect(run.execution.largestPayload.bytes).toBeLessThan(128 * 1024);
  });

  it('writes a workbook with the operator tabs and columns that matches the stored rows', async () => {
    expect(run.workbookPath).toBe(join(out, `Charlie-Intraday-${date}.xlsx`));
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(run.workbookPath as string);
    // A Problems tab follows the Summary when the run had any: rejects, or mail left out that may be an export.
    const problems =
      summary.totals.rejected > 0 || summary.mail.ignored.some((reason) => reason.severity !== 'intentional');
    expect(workbook.worksheets.map((s) => s.name)).toEqual([
      'Summary',
      ...(problems ? ['Problems'] : []),
      ...config.exports.map((e) => e.tab),
    ]);
    const ib = workbook.getWorksheet('IB Calls');
    expect(ib?.getRow(1).values).toEqual([undefined, 'Agent Name', 'Handle', 'Avg Handle']);
    expect(ib?.actualRowCount).toBe((summary.types.find((t) => t.type === 'IB_Calls')?.rows ?? 0) + 1);
    const campaigns = workbook.getWorksheet('Campaign Interactions');
    expect(campaigns?.getCell('D1').value).toBe('Users');
    expect(campaigns?.getCell('A1').value).toBeNull();
    const names = new Set<string>();
    let handled = 0;
    ib?.eachRow((row, n) => {
      if (n > 1) names.add(String(row.getCell(1).value));
      if (n > 1) handled += Number(row.getCell(2).value);
    });
    expect(names).toContain('José Peña');
    // The Summary's agent KPIs agree with the tabs: everyone's calls are the IB Calls tab's Handle.
    const overview = workbook.getWorksheet('Summary');
    let everyone: unknown[] = [];
    overview?.eachRow((row) => {
      if (row.getCell(1).value === 'All agents') everyone = (row.values as unknown[]).slice(1);
    });
    expect(everyone[1]).toBe(handled);
    expect(handled).toBeGreaterThan(0);
  });

  it('delivers one email with the workbook attached and a working link', async () => {
    expect(summary.delivery.sent).toBe(true);
    const emails = await sesStore(run);
    expect(emails).toHaveLength(1);
    const [email] = emails;
    expect(email?.destination.to).toEqual(config.delivery.to);
    expect(email?.subject).toContain(date);
    const attachment = email?.attachments.find((a) => a.filename === `Charlie-Intraday-${date}.xlsx`);
    expect(Buffer.from(attachment?.content ?? '', 'base64').equals(readFileSync(run.workbookPath as string))).toBe(
      true,
    );

    // The .eml written to out/ is the message exactly as it was handed to SES.
    expect(run.emailPaths).toHaveLength(1);
    const parsed = await simpleParser(readFileSync(run.emailPaths[0] as string));
    expect(parsed.subject).toBe(email?.subject);
    expect(parsed.text).toContain(summary.delivery.link as string);

    // The link goes to the local link endpoint, which redirects to a fresh presigned URL of the workbook.
    expect((summary.delivery.link as string).startsWith(run.links.baseUrl)).toBe(true);
    const redirect = await fetch(summary.delivery.link as string, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toContain(`/${run.stack.resources.reportsBucket}/reports/${date}/`);
    const download = await fetch(summary.delivery.link as string);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(readFileSync(run.workbookPath as string))).toBe(true);
  });

  it('reruns the day without changing a row or emailing again, and emails once more when forced', async () => {
    const again = await runPipeline({
      config,
      stack: run.stack,
      mail: undefined,
      links: run.links,
      input: { date },
      now,
    });
    expect(again.succeeded).toBe(true);
    const output = again.output as ExecutionSummary;
    expect(output.totals.inserted + output.totals.updated).toBe(0);
    expect(output.totals.read).toBe(output.totals.unchanged + output.totals.stale + output.totals.rejected);
    expect(output.types.map((t) => t.rows)).toEqual(summary.types.map((t) => t.rows));
    expect(output.delivery.sent).toBe(false);
    expect(await sesStore(run)).toHaveLength(1);

    const forced = await runPipeline({
      config,
      stack: run.stack,
      mail: undefined,
      links: run.links,
      input: { date, force: true },
      now,
    });
    expect((forced.output as ExecutionSummary).delivery.sent).toBe(true);
    expect(await sesStore(run)).toHaveLength(2);
  });

  it('tells the admins when an execution fails', async () => {
    const failed = await runPipeline({
      config,
      stack: run.stack,
      mail: undefined,
      links: run.links,
      input: { date: '2026-02-30' },
      now,
    });
    expect(failed.succeeded).toBe(false);
    // The execution fails at the stage itself (nothing catches), where a redrive would resume.
    expect(failed.error?.message).toMatch(/date must be a calendar date/);
    expect(failed.failedState).toEqual({ state: 'Collect', input: { date: '2026-02-30' } });
    const notices = (await sesStore(run)).filter((e) => e.destination.to.includes(config.delivery.admins[0] as string));
    expect(notices).toHaveLength(1);
    expect(notices[0]?.body.text).toContain('date must be a calendar date');
    expect(notices[0]?.body.text).toContain('"date": "2026-02-30"');
    expect(notices[0]?.body.text).toContain(failed.executionId);
  });
});
