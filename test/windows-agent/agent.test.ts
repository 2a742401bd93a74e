import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AgentTokenStore, createAgentToken, revokeAgentToken } from '../../functions/agent-upload/tokens.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import { acceptedAddress } from '../../functions/common/exports.ts';
import { logger } from '../../functions/common/observability.ts';
import { type LocalAgentEndpoint, startAgentEndpoint } from '../../local/agent-endpoint-server.ts';
import type { FakeMessage } from '../../local/graph-server.ts';
import type { ExecutionSummary } from '../../local/local-run.ts';
import { runPipeline } from '../../local/pipeline.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { FakeWindows } from './fake-windows.ts';
import { type Clock, type Desk, desk, storedWorkbook } from './harness.ts';

const config = loadConfigFile();
const genesys = acceptedAddress(config.mailbox.senders);
const clock: Clock = { now: 0 };
const start = Date.parse('2026-03-10T15:00:00Z');

let dir: string;
let stack: LocalStack;
let endpoint: LocalAgentEndpoint;
let store: AgentTokenStore;
let agents = 0;

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  dir = await mkdtemp(join(tmpdir(), 'charlie-agent-'));
  stack = await startLocalStack(join(dir, 'stack'));
  store = { dynamodb: stack.clients.dynamodb, table: stack.resources.table };
  endpoint = await startAgentEndpoint({ config, stack, now: () => clock.now });
});

afterAll(async () => {
  await endpoint?.stop();
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  clock.now = start;
});

/** A desk with an agent of its own (its own token, so its own folder in the inbox). */
async function newDesk(
  messages: FakeMessage[] = [],
  options: { endpoint?: string; config?: Record<string, unknown> } = {},
) {
  const agentId = `desk-${++agents}`;
  const token = await createAgentToken(store, agentId, new Date(clock.now));
  const result = await desk({
    endpoint: options.endpoint ?? endpoint.url,
    token,
    clock,
    windows: new FakeWindows(messages),
    ...(options.config ? { config: options.config } : {}),
  });
  return Object.assign(result, { agentId, inbox: () => inboxKeys(agentId) });
}

const ibHeader =
  'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle,Avg Handle';
const acqHeader = 'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle';

function ibCalls(hour: number, agentName = 'José Peña', handle = 4): string {
  const h = String(hour).padStart(2, '0');
  const next = String(hour + 1).padStart(2, '0');
  return `${ibHeader}\r\n2026-03-09 ${h}:00:00,2026-03-09 ${next}:00:00,1.0,Queue: LLSA-IB-DM,voice,0b6a3b8e-2f4e-4d55-9a51-1b6f0c7e8d21,${agentName},${handle}.0,900806.5\r\n`;
}

/** An export as Genesys mails it: sent on the hour (Chicago), received half a minute later. */
function exportMail(
  id: string,
  sentAt: string,
  attachment: { name: string; content: string },
  overrides: Partial<FakeMessage> = {},
): FakeMessage {
  return {
    internetMessageId: `<${id}@mypurecloud.com>`,
    subject: `Scheduled export: ${attachment.name.replace(/_\d.*$/, '')}`,
    from: genesys,
    sentDateTime: sentAt,
    receivedDateTime: new Date(Date.parse(sentAt) + 30_000).toISOString(),
    attachments: [{ name: attachment.name, contentType: 'text/csv', content: Buffer.from(attachment.content) }],
    ...overrides,
  };
}

async function inboxKeys(agentId: string): Promise<string[]> {
  const found: string[] = [];
  const pages = paginateListObjectsV2(
    { client: stack.clients.s3 },
    { Bucket: stack.resources.dataBucket, Prefix: `${config.agentInbox.prefix}${agentId}/` },
  );
  for await (const page of pages) for (const object of page.Contents ?? []) found.push(object.Key as string);
  return found.sort();
}

const summaryLine = (d: Desk) => d.out.find((line) => /new file\(s\) found/.test(line));

describe('the Windows agent pushing from Outlook', () => {
  it('pushes new mail once: the next run, a restart, even a lost state file push nothing twice', async () => {
    const d = await newDesk([
      exportMail('ib-09', '2026-03-09T14:00:05Z', { name: 'IB_Calls_2026-03-09_0900.csv', content: ibCalls(9) }),
      exportMail('ib-10', '2026-03-09T15:00:05Z', { name: 'IB_Calls_2026-03-09_1000.csv', content: ibCalls(10) }),
    ]);
    expect(await d.run('run')).toBe(0);
    expect(summaryLine(d)).toBe('2 new file(s) found: 2 pushed, 0 already pushed, 0 left out by the rules, 0 pending');
    const keys = await d.inbox();
    expect(keys).toHaveLength(2);
    const head = await stack.clients.s3.send(
      new HeadObjectCommand({ Bucket: stack.resources.dataBucket, Key: keys[0] }),
    );
    expect(head.Metadata).toMatchObject({
      'message-id': '<ib-09@mypurecloud.com>',
      'received-at': '2026-03-09T14:00:35.000Z',
      'exported-at': '2026-03-09T14:00:05.000Z',
      sender: genesys,
      'attachment-name': 'IB_Calls_2026-03-09_0900.csv',
    });
    const state = await d.state();
    expect(state.pushed.map((p) => p.key).sort()).toEqual(keys);
    expect(state.lastPush?.fileName).toBe('IB_Calls_2026-03-09_1000.csv');

    // A new export arrives; the next run (a new process, as the task starts one) pushes it alone.
    d.windows.messages.push(
      exportMail('ib-11', '2026-03-09T16:00:05Z', { name: 'IB_Calls_2026-03-09_1100.csv', content: ibCalls(11) }),
    );
    d.out.length = 0;
    expect(await d.run('run')).toBe(0);
    expect(d.windows.lastKnown).toHaveLength(2);
    expect(d.windows.lastSaved).toBe(1);
    expect(summaryLine(d)).toBe('1 new file(s) found: 1 pushed, 0 already pushed, 0 left out by the rules, 0 pending');

    d.out.length = 0;
    expect(await d.run('run')).toBe(0);
    expect(d.windows.lastSaved).toBe(0);
    expect(summaryLine(d)).toMatch(/^0 new file\(s\) found: 0 pushed/);

    // The state file lost: everything is found again, and the endpoint knows every file.
    await rm(d.stateFile);
    d.out.length = 0;
    expect(await d.run('run')).toBe(0);
    expect(summaryLine(d)).toBe('3 new file(s) found: 0 pushed, 3 already pushed, 0 left out by the rules, 0 pending');
    expect(await d.inbox()).toHaveLength(3);
  });

  it('pushes the same content once a day, and again for an earlier export of it or another day', async () => {
    const content = ibCalls(9);
    const d = await newDesk([
      exportMail('first', '2026-03-09T14:00:05Z', { name: 'IB_Calls_2026-03-09_0900.csv', content }),
      exportMail('resent', '2026-03-09T14:04:05Z', { name: 'IB_Calls_2026-03-09_0900.csv', content }),
    ]);
    expect(await d.run('run')).toBe(0);
    expect(summaryLine(d)).toBe('2 new file(s) found: 1 pushed, 1 already pushed, 0 left out by the rules, 0 pending');
    // The resent copy is recorded too, so Outlook does not save it again.
    expect((await d.state()).pushed.map((p) => p.attachment)).toHaveLength(2);

    d.windows.messages.push(
      // Sent before the first but delivered late: collect keeps the earliest export's lineage, so it goes too.
      exportMail(
        'delayed',
        '2026-03-09T14:00:01Z',
        { name: 'IB_Calls_2026-03-09_0900.csv', content },
        {
          receivedDateTime: '2026-03-09T18:00:00Z',
        },
      ),
      // The same bytes the next business day: collect stores content once per day.
      exportMail('next-day', '2026-03-10T14:00:05Z', { name: 'IB_Calls_2026-03-10_0900.csv', content }),
    );
    d.out.length = 0;
    expect(await d.run('run')).toBe(0);
    expect(summaryLine(d)).toBe('2 new file(s) found: 2 pushed, 0 already pushed, 0 left out by the rules, 0 pending');
    expect(await d.inbox()).toHaveLength(3);
  });

  it('leaves out what collect would leave out, and names the type when only the subject tells it', async () => {
    const d = await newDesk([
      exportMail(
        'stranger',
        '2026-03-09T14:00:00Z',
        { name: 'IB_Calls_2026-03-09_0900.csv', content: ibCalls(9) },
        {
          from: 'someone@example.com',
        },
      ),
      exportMail(
        'wrong-subject',
        '2026-03-09T14:01:00Z',
        { name: 'Dials_2026-03-09_0900.csv', content: ibCalls(9) },
        {
          subject: 'Scheduled export: IB_Calls',
        },
      ),
      exportMail(
        'no-name',
        '2026-03-09T14:02:00Z',
        { name: 'export (4).csv', content: `${acqHeader}\r\n` },
        {
          subject: 'Scheduled export: RESC',
        },
      ),
      exportMail(
        'no-clue',
        '2026-03-09T14:03:00Z',
        { name: 'export (5).csv', content: `${acqHeader}\r\n\r\n` },
        {
          subject: 'Your export',
        },
      ),
    ]);
    expect(await d.run('run')).toBe(0);
    expect(summaryLine(d)).toBe('4 new file(s) found: 1 pushed, 0 already pushed, 3 left out by the rules, 0 pending');
    const [key] = await d.inbox();
    expect(key).toMatch(/\/RESC__export \(4\)\.csv$/);
  });

  it('--dry-run lists what it would push, and pushes and records nothing', async () => {
    const d = await newDesk([
      exportMail('ib-09', '2026-03-09T14:00:05Z', { name: 'IB_Calls_2026-03-09_0900.csv', content: ibCalls(9) }),
    ]);
    expect(await d.run('run', '--dry-run')).toBe(0);
    expect(d.out).toEqual([
      `would push IB_Calls_2026-03-09_0900.csv as IB_Calls (${Buffer.byteLength(ibCalls(9))} bytes, received 2026-03-09T14:00:35.000Z)`,
      '1 new file(s) found: 1 to push, 0 already pushed, 0 left out by the rules, 0 pending',
    ]);
    expect(await d.inbox()).toEqual([]);
    expect((await d.state()).pushed).toEqual([]);
    expect((await d.state()).lastRun).toBeUndefined();
  });

  it('backs off while the endpoint cannot be reached, and pushes once it is back', async () => {
    const port = endpoint.port;
    await endpoint.stop();
    const d = await newDesk([
      exportMail('ib-09', '2026-03-09T14:00:05Z', { name: 'IB_Calls_2026-03-09_0900.csv', content: ibCalls(9) }),
    ]);
    d.onSleep = async (_, count) => {
      if (count === 2) endpoint = await startAgentEndpoint({ config, stack, port, now: () => clock.now });
    };
    expect(await d.run('run')).toBe(0);
    // Exponential: half of 2 s, then half of 4 s (the jitter is pinned at one half).
    expect(d.sleeps).toEqual([1_000, 2_000]);
    expect(await d.inbox()).toHaveLength(1);
  });

  it('gives up after its backoff when offline, shows what is pending, and pushes it on a later run', async () => {
    const port = endpoint.port;
    await endpoint.stop();
    const d = await newDesk([
      exportMail('ib-09', '2026-03-09T14:00:05Z', { name: 'IB_Calls_2026-03-09_0900.csv', content: ibCalls(9) }),
      exportMail('ib-10', '2026-03-09T15:00:05Z', { name: 'IB_Calls_2026-03-09_1000.csv', content: ibCalls(10) }),
    ]);
    try {
      expect(await d.run('run')).toBe(1);
    } finally {
      endpoint = await startAgentEndpoint({ config, stack, port, now: () => clock.now });
    }
    expect(d.sleeps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
    expect(d.err.join('\n')).toMatch(/cannot reach 127\.0\.0\.1/);
    expect((await d.state()).pushed).toEqual([]);

    d.out.length = 0;
    expect(await d.run('status')).toBe(0);
    expect(d.out).toContain('Last push:  none yet');
    expect(d.out).toContain('Pending:    2');
    expect(d.out.join('\n')).toMatch(/stopped: Reading the rules: cannot reach/);

    d.out.length = 0;
    expect(await d.run('run')).toBe(0);
    expect(summaryLine(d)).toBe('2 new file(s) found: 2 pushed, 0 already pushed, 0 left out by the rules, 0 pending');
    d.out.length = 0;
    await d.run('status');
    expect(d.out).toContain('Pending:    0');
    expect(d.out.find((line) => line.startsWith('Last push:'))).toMatch(
      /IB_Calls_2026-03-09_1000\.csv -> inbox\/agent\//,
    );
  });

  it('stops at once, without retrying, when its token is refused', async () => {
    const d = await newDesk([
      exportMail('ib-09', '2026-03-09T14:00:05Z', { name: 'IB_Calls_2026-03-09_0900.csv', content: ibCalls(9) }),
    ]);
    await revokeAgentToken(store, d.agentId, new Date(clock.now));
    expect(await d.run('run')).toBe(1);
    expect(d.sleeps).toEqual([]);
    expect(d.err.join('\n')).toMatch(/HTTP 401 The agent token is missing, malformed, unknown or revoked/);
    expect((await d.state()).lastRun?.pending).toHaveLength(1);
  });

  it('waits as long as the endpoint says when it is over its rate limit', async () => {
    const limited = await startAgentEndpoint({
      config,
      stack,
      limits: { requestsPerMinute: 2, urlExpirySeconds: 600 },
      now: () => clock.now,
    });
    try {
      clock.now = Date.parse('2026-03-10T15:00:20Z');
      const d = await newDesk(
        [9, 10, 11].map((hour) =>
          exportMail(`ib-${hour}`, `2026-03-09T${hour + 5}:00:05Z`, {
            name: `IB_Calls_2026-03-09_${hour}00.csv`,
            content: ibCalls(hour),
          }),
        ),
        { endpoint: limited.url },
      );
      expect(await d.run('run')).toBe(0);
      // Rules and the first file fill the minute; the endpoint's Retry-After takes the agent to the next.
      expect(d.sleeps[0]).toBe(40_000);
      expect(await d.inbox()).toHaveLength(3);
    } finally {
      await limited.stop();
    }
  });

  it('goes on with the other files when the endpoint refuses one, and keeps that one pending', async () => {
    const longName = `IB_Calls_${'x'.repeat(250)}.csv`;
    const d = await newDesk([
      exportMail('long', '2026-03-09T14:00:05Z', { name: longName, content: ibCalls(9) }),
      exportMail('ib-10', '2026-03-09T15:00:05Z', { name: 'IB_Calls_2026-03-09_1000.csv', content: ibCalls(10) }),
    ]);
    expect(await d.run('run')).toBe(1);
    expect(d.sleeps).toEqual([]);
    expect(summaryLine(d)).toBe('2 new file(s) found: 1 pushed, 0 already pushed, 0 left out by the rules, 1 pending');
    expect(d.out.at(-1)).toMatch(new RegExp(`^  pending: ${longName} \\(received .*\\): .*HTTP 400 fileName: `));
    expect(await d.inbox()).toHaveLength(1);
  });

  it('reports an Outlook that cannot be read, and pushes nothing', async () => {
    const d = await newDesk();
    d.windows.outlookFailure =
      'Retrieving the COM class factory for component failed: 80080005 Server execution failed';
    expect(await d.run('run')).toBe(1);
    expect(d.err.join('\n')).toMatch(/Reading Outlook failed \(exit code 1\): Retrieving the COM class factory/);
    expect((await d.state()).lastRun?.error).toMatch(/80080005/);
  });
});

describe('the Windows agent pushing a folder', () => {
  it('pushes the CSVs an Outlook rule saved, once, and the pipeline puts their rows in the workbook', async () => {
    const folder = join(dir, 'saved');
    await mkdir(folder, { recursive: true });
    const saved = async (name: string, content: string, at: string) => {
      await writeFile(join(folder, name), content);
      await utimes(join(folder, name), new Date(at), new Date(at));
    };
    await saved('IB_Calls_2026-03-09_1300.csv', ibCalls(13, 'Folder Agent', 7), '2026-03-09T18:00:40Z');
    await saved('IB_Calls_2026-03-09_1200.csv', ibCalls(12, 'Folder Agent', 6), '2026-03-09T17:00:40Z');
    // Saved long before the window, and not an export at all.
    await saved('IB_Calls_2026-02-01_1200.csv', ibCalls(12, 'Old Agent', 1), '2026-02-01T18:00:00Z');
    await saved('notes.txt', 'call back', '2026-03-09T18:00:00Z');

    const d = await newDesk();
    expect(await d.run('run', '--from-folder', folder)).toBe(0);
    expect(d.windows.calls).toEqual([]);
    expect(summaryLine(d)).toBe('2 new file(s) found: 2 pushed, 0 already pushed, 0 left out by the rules, 0 pending');
    const [first] = await d.inbox();
    const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.resources.dataBucket, Key: first }));
    // No message: the saved time stands for receipt and export.
    expect(head.Metadata).toEqual({
      'received-at': '2026-03-09T17:00:40.000Z',
      'exported-at': '2026-03-09T17:00:40.000Z',
      'attachment-name': 'IB_Calls_2026-03-09_1200.csv',
    });

    d.out.length = 0;
    expect(await d.run('run', '--from-folder', folder)).toBe(0);
    expect(summaryLine(d)).toMatch(/^0 new file\(s\) found/);

    const links = { baseUrl: 'http://127.0.0.1:9/', signingKey: async () => 'not used: nothing is delivered' };
    const result = await runPipeline({
      config,
      stack,
      mail: undefined,
      links,
      input: { date: '2026-03-09', reports: ['IB_Calls'], deliver: false },
      now: () => start,
    });
    expect(result.error).toBeUndefined();
    const summary = result.output as ExecutionSummary;
    const book = await storedWorkbook(stack, summary.workbook);
    // Agent Name and Handle, the first two of the operator's columns.
    const rows: unknown[][] = [];
    book.getWorksheet('IB Calls')?.eachRow((row) => {
      rows.push((row.values as unknown[]).slice(1, 3));
    });
    expect(rows).toContainEqual(['Folder Agent', 7]);
    expect(rows).toContainEqual(['Folder Agent', 6]);
    expect(rows.flat()).not.toContain('Old Agent');
  });
});

describe('the agent state', () => {
  it('is written whole or not at all, and a file that is not one stops the run', async () => {
    const d = await newDesk([
      exportMail('ib-09', '2026-03-09T14:00:05Z', { name: 'IB_Calls_2026-03-09_0900.csv', content: ibCalls(9) }),
    ]);
    expect(await d.run('run')).toBe(0);
    expect((await readdir(d.dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(await readFile(d.stateFile, 'utf8')).version).toBe(1);

    await writeFile(d.stateFile, '{"pushed": "nothing"}');
    expect(await d.run('run')).toBe(1);
    expect(d.err.join('\n')).toMatch(/is not an agent state file/);
  });

  it('forgets files older than its window: they cannot come back', async () => {
    const d = await newDesk([
      exportMail('ib-09', '2026-03-09T14:00:05Z', { name: 'IB_Calls_2026-03-09_0900.csv', content: ibCalls(9) }),
    ]);
    expect(await d.run('run')).toBe(0);
    expect((await d.state()).pushed).toHaveLength(1);
    clock.now = Date.parse('2026-03-13T15:00:00Z');
    expect(await d.run('run')).toBe(0);
    expect((await d.state()).pushed).toEqual([]);
    expect(d.windows.lastSaved).toBe(0);
  });
});
