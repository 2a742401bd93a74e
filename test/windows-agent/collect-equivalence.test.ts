import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import type ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentToken } from '../../functions/agent-upload/tokens.ts';
import { createGraphMailSource } from '../../functions/collect/graph.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import { logger } from '../../functions/common/observability.ts';
import { localDate } from '../../functions/common/time.ts';
import { type LocalAgentEndpoint, startAgentEndpoint } from '../../local/agent-endpoint-server.ts';
import { type FakeGraph, type FakeMessage, loadMailboxDir, startFakeGraph } from '../../local/graph-server.ts';
import type { ExecutionSummary } from '../../local/local-run.ts';
import { runPipeline } from '../../local/pipeline.ts';
import { writeSampleMailbox } from '../../local/sample-day.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { FakeWindows } from './fake-windows.ts';
import { type Clock, desk, storedWorkbook } from './harness.ts';

const config = loadConfigFile();
const date = '2026-03-09';
// The day after, mid-morning in Chicago: every export of the day, and the grace period, are in.
const start = Date.parse('2026-03-10T15:00:00Z');
const links = { baseUrl: 'http://127.0.0.1:9/', signingKey: async () => 'not used: nothing is delivered' };

/**
 * One generated day of Genesys mail, read twice: by Graph on one local stack, and by the
 * Windows agent from Outlook on another, through its endpoint. Collect must store the same
 * files with the same lineage, and the same rows must reach the same workbook.
 */
describe('a day pushed by the Windows agent', () => {
  const clock: Clock = { now: start };
  let dir: string;
  let messages: FakeMessage[];
  let graphStack: LocalStack;
  let agentStack: LocalStack;
  let graph: FakeGraph;
  let endpoint: LocalAgentEndpoint;
  let viaGraph: ExecutionSummary;
  let viaAgent: ExecutionSummary;
  let agentOutput: string[];
  let exitCode: number;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    dir = await mkdtemp(join(tmpdir(), 'charlie-agent-day-'));
    await writeSampleMailbox({ config, date, dir: join(dir, 'mail') });
    messages = await loadMailboxDir(join(dir, 'mail'));
    [graphStack, agentStack] = await Promise.all([
      startLocalStack(join(dir, 'graph')),
      startLocalStack(join(dir, 'agent')),
    ]);

    graph = await startFakeGraph({
      messages,
      user: config.mailbox.user,
      folderPath: config.mailbox.folder,
      tenantId: config.mailbox.tenantId,
    });
    const mail = createGraphMailSource({
      mailbox: { ...config.mailbox, graphBaseUrl: graph.graphBaseUrl, authorityHost: graph.authorityHost },
      credential: { clientSecret: 'local-client-secret' },
    });
    const input = { date, deliver: false };
    const byGraph = await runPipeline({ config, stack: graphStack, mail, links, input, now: () => start });
    expect(byGraph.error).toBeUndefined();
    viaGraph = byGraph.output as ExecutionSummary;

    endpoint = await startAgentEndpoint({ config, stack: agentStack, now: () => clock.now });
    const token = await createAgentToken(
      { dynamodb: agentStack.clients.dynamodb, table: agentStack.resources.table },
      'front-desk',
      new Date(start),
    );
    const agent = await desk({ endpoint: endpoint.url, token, clock, windows: new FakeWindows(messages) });
    exitCode = await agent.run('run');
    agentOutput = agent.out;
    const byAgent = await runPipeline({ config, stack: agentStack, mail: undefined, links, input, now: () => start });
    expect(byAgent.error).toBeUndefined();
    viaAgent = byAgent.output as ExecutionSummary;
  }, 240_000);

  afterAll(async () => {
    await endpoint?.stop();
    await graph?.stop();
    await Promise.all([graphStack?.stop(), agentStack?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes each content once a day, as collect stores it, and nothing the rules leave out', async () => {
    expect(exitCode).toBe(0);
    const attachments = messages.flatMap((m) =>
      m.attachments.filter((a) => /\.(csv|zip)$/i.test(a.name)).map((a) => ({ sentAt: m.sentDateTime, a })),
    );
    const contents = new Set(
      attachments.map(({ sentAt, a }) => `${localDate(Date.parse(sentAt), config.timeZone)}/${sha256(a.content)}`),
    );
    // Genesys sends an export twice now and then: collect stores the same content once a day.
    const repeats = attachments.length - contents.size;
    expect(repeats).toBeGreaterThan(0);
    const pushed = agentOutput.filter((line) => line.startsWith('pushed '));
    expect(pushed).toHaveLength(contents.size);
    const inbox = await keys(agentStack, config.agentInbox.prefix);
    expect(inbox).toHaveLength(contents.size);
    expect(inbox.every((key) => key.startsWith(`${config.agentInbox.prefix}front-desk/`))).toBe(true);
    expect(agentOutput.at(-1)).toBe(
      `${attachments.length} new file(s) found: ${contents.size} pushed, ${repeats} already pushed, 0 left out by the rules, 0 pending`,
    );
  });

  it('stores the same raw files, with the same lineage, as when the mail is read through Graph', async () => {
    const graphRaw = await keys(graphStack, `raw/${date}/`);
    expect(graphRaw.length).toBeGreaterThan(100);
    expect(await keys(agentStack, `raw/${date}/`)).toEqual(graphRaw);
    for (const key of graphRaw) {
      const [fromGraph, fromAgent] = await Promise.all([metadata(graphStack, key), metadata(agentStack, key)]);
      expect({ ...fromAgent, origin: 'graph' }, key).toEqual(fromGraph);
      expect(fromAgent.origin).toBe('agent');
    }
  });

  it('ingests the same rows, and builds the same workbook', async () => {
    // Files are ingested concurrently, so how a row's versions split between updated and unchanged
    // varies from run to run; what was read, and what is kept, does not.
    const counts = (summary: ExecutionSummary) =>
      summary.types.map(({ type, rows, files, ingest }) => ({
        type,
        rows,
        files,
        read: ingest.read,
        inserted: ingest.inserted,
        replaced: ingest.updated + ingest.unchanged + ingest.stale,
        rejected: ingest.rejected,
        blank: ingest.blank,
      }));
    expect(counts(viaAgent)).toEqual(counts(viaGraph));
    expect(viaAgent.missing).toEqual([]);

    const [fromGraph, fromAgent] = await Promise.all([
      storedWorkbook(graphStack, viaGraph.workbook),
      storedWorkbook(agentStack, viaAgent.workbook),
    ]);
    expect(fromAgent.worksheets.map((s) => s.name)).toEqual(['Summary', ...config.exports.map((e) => e.tab)]);
    for (const spec of config.exports) {
      const agentSheet = values(fromAgent, spec.tab);
      expect(agentSheet.length, spec.tab).toBeGreaterThan(1);
      expect(agentSheet, spec.tab).toEqual(values(fromGraph, spec.tab));
    }
  });
});

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

async function keys(stack: LocalStack, prefix: string): Promise<string[]> {
  const found: string[] = [];
  const pages = paginateListObjectsV2(
    { client: stack.clients.s3 },
    { Bucket: stack.resources.dataBucket, Prefix: prefix },
  );
  for await (const page of pages) for (const object of page.Contents ?? []) found.push(object.Key as string);
  return found.sort();
}

async function metadata(stack: LocalStack, key: string): Promise<Record<string, string>> {
  const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.resources.dataBucket, Key: key }));
  return head.Metadata ?? {};
}

function values(book: ExcelJS.Workbook, tab: string): unknown[] {
  const rows: unknown[] = [];
  book.getWorksheet(tab)?.eachRow((row) => {
    rows.push(row.values);
  });
  return rows;
}
