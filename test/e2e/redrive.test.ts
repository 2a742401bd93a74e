import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphMailSource } from '../../functions/collect/graph.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import { logger } from '../../functions/common/observability.ts';
import { startFakeGraph } from '../../local/graph-server.ts';
import type { ExecutionSummary } from '../../local/local-run.ts';
import { type ExecutionEvent, type PipelineResult, runPipeline } from '../../local/pipeline.ts';
import { writeSampleMailbox } from '../../local/sample-day.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { tableRows } from './stored-rows.ts';

const config = loadConfigFile();
const date = '2026-03-09';
const now = () => Date.parse('2026-03-10T15:00:00Z');

interface Setup {
  stack: LocalStack;
  run: (
    executionId: string,
    redrive?: PipelineResult['failedState'],
    onEvent?: (event: ExecutionEvent) => void,
  ) => Promise<PipelineResult>;
  stop: () => Promise<void>;
}

/** A local stack and a Graph mailbox holding the same generated day. */
async function setUp(mailboxDir: string): Promise<Setup> {
  const stack = await startLocalStack(mkdtempSync(join(tmpdir(), 'charlie-redrive-')));
  const graph = await startFakeGraph({ mailboxDir, user: config.mailbox.user, folderPath: config.mailbox.folder });
  const mail = createGraphMailSource({
    mailbox: { ...config.mailbox, graphBaseUrl: graph.graphBaseUrl, authorityHost: graph.authorityHost },
    credential: { clientSecret: 'local' },
  });
  return {
    stack,
    // The links are signed but never followed here.
    run: (executionId, redrive, onEvent) =>
      runPipeline({
        config,
        stack,
        mail,
        input: { date },
        now,
        executionId,
        links: { baseUrl: 'http://127.0.0.1:9/link/', signingKey: async () => 'k'.repeat(64) },
        ...(redrive ? { redrive } : {}),
        ...(onEvent ? { onEvent } : {}),
      }),
    stop: async () => {
      await graph.stop();
      await stack.stop();
    },
  };
}

/** The emails the local SES has accepted, oldest first. */
async function sentEmails(stack: LocalStack): Promise<{ subject: string }[]> {
  const response = await fetch(`${stack.sesUrl}/store`);
  return ((await response.json()) as { emails: { subject: string }[] }).emails;
}

/** Every data tab's cells, as values. */
async function dataTabs(stack: LocalStack, summary: ExecutionSummary): Promise<unknown[][]> {
  const object = await stack.clients.s3.send(
    new GetObjectCommand({ Bucket: summary.workbook.bucket, Key: summary.workbook.key }),
  );
  const workbook = new ExcelJS.Workbook();
  const bytes = await (object.Body?.transformToByteArray() ?? new Uint8Array());
  await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  return workbook.worksheets
    .filter((sheet) => sheet.name !== 'Summary')
    .map((sheet) => sheet.getSheetValues().map((row) => JSON.stringify(row)));
}

describe('a failed execution redriven', () => {
  const mailboxDir = mkdtempSync(join(tmpdir(), 'charlie-redrive-mail-'));
  let clean: Setup;
  let redriven: Setup;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    await writeSampleMailbox({ config, date, dir: mailboxDir });
    [clean, redriven] = await Promise.all([setUp(mailboxDir), setUp(mailboxDir)]);
  });
  afterAll(async () => {
    await clean?.stop();
    await redriven?.stop();
  });

  // Three executions of a whole day: give it time on a busy machine.
  it('ends exactly like a clean run', { timeout: 240_000 }, async () => {
    const cleanRun = await clean.run('arn:aws:states:us-east-1:000000000000:execution:charlie:clean');
    expect(cleanRun.succeeded).toBe(true);
    // The local SES keeps one store for the process: what the redriven stack sends comes after these.
    const sentByClean = (await sentEmails(clean.stack)).length;

    // Build fails: the reports bucket is gone. Collect and every ingest have already run.
    const { s3 } = redriven.stack.clients;
    const reports = redriven.stack.resources.reportsBucket;
    await s3.send(new DeleteBucketCommand({ Bucket: reports }));
    const executionId = 'arn:aws:states:us-east-1:000000000000:execution:charlie:first';
    const failed = await redriven.run(executionId);
    expect(failed.succeeded).toBe(false);
    expect(failed.failedState?.state).toBe('Build');

    // The cause is fixed and the execution redriven: it resumes at Build with the input Build had,
    // under the same execution id; Collect and the ingests are not run again.
    await s3.send(new CreateBucketCommand({ Bucket: reports }));
    const entered: string[] = [];
    const again = await redriven.run(executionId, failed.failedState, (event) => {
      if (event.type === 'StateEntered' && event.index === undefined) entered.push(event.state.name);
    });
    expect(again.succeeded).toBe(true);
    expect(entered).toEqual(['Build', 'ShouldDeliver', 'Deliver', 'Summarise']);

    const cleanSummary = cleanRun.output as ExecutionSummary;
    const redrivenSummary = again.output as ExecutionSummary;
    expect(redrivenSummary.types.map((t) => [t.type, t.rows])).toEqual(cleanSummary.types.map((t) => [t.type, t.rows]));
    expect(await tableRows(redriven.stack)).toEqual(await tableRows(clean.stack));
    expect(await dataTabs(redriven.stack, redrivenSummary)).toEqual(await dataTabs(clean.stack, cleanSummary));
    // The report went out once, after the redrive; the admins were told of the failure once.
    expect(redrivenSummary.delivery.sent).toBe(true);
    const emails = (await sentEmails(redriven.stack)).slice(sentByClean);
    expect(emails.map((e) => e.subject)).toEqual([`[charlie] run failed: first`, `Charlie intraday report ${date}`]);
  });
});
