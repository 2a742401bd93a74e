import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFile } from '../../functions/ingest/ingest.ts';
import type { RowStore } from '../../functions/ingest/store.ts';
import { createDynamoDbClient } from '../../functions/shared/clients.ts';
import { loadConfigFile } from '../../functions/shared/config.ts';
import type { IngestResult, Run, SourceFile } from '../../functions/shared/contracts.ts';
import { rejectsKey } from '../../functions/shared/keys.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { createRowTable, IB_HEADER, ibLine, putSource, tableRows } from './files.ts';

/**
 * What the emulator cannot show — throttling, unprocessed keys, a crash — injected with
 * aws-sdk-client-mock in front of the real local DynamoDB: every request the test does not
 * fail goes through to dynalite. In every case the table ends as a clean single run leaves it.
 */

const config = loadConfigFile();
const run: Run = {
  date: '2026-03-09',
  reports: ['IB_Calls'],
  force: false,
  deliver: true,
  executionId: 'faults',
  window: { start: '2026-03-09T05:00:00.000Z', end: '2026-03-10T07:00:00.000Z' },
};

let stack: LocalStack;
let real: DynamoDBDocumentClient;
beforeAll(async () => {
  stack = await startLocalStack(mkdtempSync(join(tmpdir(), 'charlie-faults-')));
  real = createDynamoDbClient(stack.endpoints);
});
afterAll(async () => {
  real.destroy();
  await stack.stop();
});

let tables = 0;
const waits: number[] = [];
/** Backoff waits are recorded, not slept; the jitter draw is fixed at half the cap. */
const backoff: RowStore['backoff'] = {
  sleep: async (ms) => {
    waits.push(ms);
  },
  random: () => 0.5,
};

function ingest(file: SourceFile, dynamodb: DynamoDBDocumentClient, table: string): Promise<IngestResult> {
  return ingestFile(
    { run, file },
    {
      config,
      s3: stack.clients.s3,
      dynamodb,
      resources: { ...stack.resources, table },
      store: { backoff, requestsInFlight: 8 },
    },
  );
}

/** The table a clean, fault-free run of the files, one after the other, leaves. */
async function cleanRun(...files: SourceFile[]) {
  const table = await createRowTable(stack, `clean-${++tables}`);
  const results = [];
  for (const file of files) results.push(await ingest(file, real, table));
  return { rows: await tableRows(stack, table), results };
}

/** A client whose requests go to the local DynamoDB unless a test makes them fail. */
function faultyClient() {
  const client = createDynamoDbClient(stack.endpoints);
  const mock = mockClient(client);
  mock.on(BatchGetCommand).callsFake((input) => real.send(new BatchGetCommand(input)));
  mock.on(PutCommand).callsFake((input) => real.send(new PutCommand(input)));
  mock.on(GetCommand).callsFake((input) => real.send(new GetCommand(input)));
  return { client, mock };
}

/** An IB_Calls export of `agents` rows, and a malformed one every 25. */
function ibExport(agents: number, handle: (agent: number) => number): string {
  const lines = [IB_HEADER];
  for (let a = 0; a < agents; a++) {
    const line = ibLine(10, `agent-${String(a).padStart(4, '0')}`, `Agent ${a}`, handle(a), 1000, 0);
    lines.push(a % 25 === 24 ? line.replace(/,\d+\.0,1000$/, ',lots,1000') : line);
  }
  return `${lines.join('\r\n')}\r\n`;
}

const throttled = () =>
  new ProvisionedThroughputExceededException({
    message: 'Rate of requests exceeds the allowed throughput',
    $metadata: {},
  });

describe('ingest under faults', () => {
  it('asks again for unprocessed keys, several times in a row, with growing jittered waits', async () => {
    const file = await putSource(
      stack,
      'IB_Calls',
      ibExport(80, (a) => a),
      '2026-03-09T15:00:00Z',
      'unprocessed.csv',
    );
    const clean = await cleanRun(file);
    const { client, mock } = faultyClient();
    let calls = 0;
    // The first four answers read only half of the keys asked for.
    mock.on(BatchGetCommand).callsFake(async (input) => {
      if (++calls > 4) return real.send(new BatchGetCommand(input));
      const table = Object.keys(input.RequestItems ?? {})[0] as string;
      const request = input.RequestItems?.[table];
      const keys = request?.Keys ?? [];
      const half = Math.ceil(keys.length / 2);
      const answer = await real.send(
        new BatchGetCommand({ RequestItems: { [table]: { ...request, Keys: keys.slice(0, half) } } }),
      );
      return { ...answer, UnprocessedKeys: { [table]: { ...request, Keys: keys.slice(half) } } };
    });
    waits.length = 0;
    const table = await createRowTable(stack, `unprocessed-${++tables}`);
    const result = await ingest(file, client, table);
    expect(result.counts).toEqual(clean.results[0]?.counts);
    expect(calls).toBe(5);
    expect(waits).toEqual([25, 50, 100, 200]);
    expect(await tableRows(stack, table)).toEqual(clean.rows);
  });

  it('fails the file clearly, as a transient error, when keys stay unprocessed', async () => {
    const file = await putSource(
      stack,
      'IB_Calls',
      ibExport(30, (a) => a + 1),
      '2026-03-09T15:00:00Z',
      'stuck.csv',
    );
    const { client, mock } = faultyClient();
    mock.on(BatchGetCommand).callsFake(async (input) => ({ Responses: {}, UnprocessedKeys: input.RequestItems }));
    waits.length = 0;
    const table = await createRowTable(stack, `stuck-${++tables}`);
    await expect(ingest(file, client, table)).rejects.toMatchObject({
      name: 'TransientError',
      message: 'DynamoDB left 29 keys unread after 15 BatchGetItem attempts',
    });
    expect(waits).toHaveLength(14);
    expect(Math.max(...waits)).toBe(2_500);
    expect(await tableRows(stack, table)).toEqual([]);
  });

  it('retries throttled reads and writes (ProvisionedThroughputExceeded)', async () => {
    const file = await putSource(
      stack,
      'IB_Calls',
      ibExport(150, (a) => a * 2),
      '2026-03-09T15:00:00Z',
      'throttled.csv',
    );
    const clean = await cleanRun(file);
    const { client, mock } = faultyClient();
    let reads = 0;
    let writes = 0;
    mock.on(BatchGetCommand).callsFake((input) => {
      if (++reads <= 3) throw throttled();
      return real.send(new BatchGetCommand(input));
    });
    // Every third write is throttled, some of them several times over.
    mock.on(PutCommand).callsFake((input) => {
      if (++writes % 3 === 0) throw throttled();
      return real.send(new PutCommand(input));
    });
    const table = await createRowTable(stack, `throttled-${++tables}`);
    const result = await ingest(file, client, table);
    expect(result.counts).toEqual(clean.results[0]?.counts);
    // 144 writes succeed; one call in three failed on the way (the last call succeeded).
    expect(writes).toBe(144 + 71);
    expect(await tableRows(stack, table)).toEqual(clean.rows);
  });

  it('ends as a clean run when a crash half-way through a file is followed by a rerun', async () => {
    const file = await putSource(
      stack,
      'IB_Calls',
      ibExport(250, (a) => a + 3),
      '2026-03-09T15:00:00Z',
      'crash.csv',
    );
    const clean = await cleanRun(file);
    const cleanRejects = await text(rejectsKey(file.key));
    const { client, mock } = faultyClient();
    let writes = 0;
    mock.on(PutCommand).callsFake((input) => {
      if (++writes > 100) throw new Error('Task timed out after 900.00 seconds');
      return real.send(new PutCommand(input));
    });
    const table = await createRowTable(stack, `crash-${++tables}`);
    await expect(ingest(file, client, table)).rejects.toThrow('Task timed out');
    const written = (await tableRows(stack, table)).length;
    expect(written).toBe(100);

    const rerun = await ingest(file, real, table);
    expect(rerun.counts).toEqual({ ...clean.results[0]?.counts, inserted: 240 - written, unchanged: written });
    expect(await tableRows(stack, table)).toEqual(clean.rows);
    expect(await text(rejectsKey(file.key))).toBe(cleanRejects);
  });

  for (const first of ['older', 'newer'] as const) {
    it(`keeps the newer version when two ingests race for every row (${first} started first)`, async () => {
      const older = await putSource(
        stack,
        'IB_Calls',
        ibExport(150, (a) => a),
        '2026-03-09T12:00:00Z',
        'older.csv',
      );
      const newer = await putSource(
        stack,
        'IB_Calls',
        ibExport(150, (a) => a + 500),
        '2026-03-09T13:00:00Z',
        'newer.csv',
      );
      const clean = await cleanRun(older, newer);
      const { client, mock } = faultyClient();
      // No write goes out before both files have read all their keys (2 batches each), so
      // both find every row absent and race to insert it.
      let reads = 0;
      let allRead: () => void = () => undefined;
      const readsDone = new Promise<void>((resolve) => {
        allRead = resolve;
      });
      mock.on(BatchGetCommand).callsFake(async (input) => {
        const answer = await real.send(new BatchGetCommand(input));
        if (++reads === 4) allRead();
        return answer;
      });
      mock.on(PutCommand).callsFake(async (input) => {
        await readsDone;
        return real.send(new PutCommand(input));
      });
      const table = await createRowTable(stack, `race-${++tables}`);
      const [o, n] =
        first === 'older'
          ? await Promise.all([ingest(older, client, table), ingest(newer, client, table)])
          : await Promise.all([ingest(newer, client, table), ingest(older, client, table)]).then(
              ([nr, or]) => [or, nr] as const,
            );
      expect(await tableRows(stack, table)).toEqual(clean.rows);
      // Each row: one insert won, the other write found it there, looked again and decided.
      expect(mock.commandCalls(GetCommand)).toHaveLength(144);
      expect(n.counts.inserted + n.counts.updated).toBe(144);
      expect(o.counts.inserted + o.counts.stale).toBe(144);
      expect(n.counts.updated).toBe(o.counts.inserted);
    });
  }
});

async function text(key: string): Promise<string> {
  const object = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.dataBucket, Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}
