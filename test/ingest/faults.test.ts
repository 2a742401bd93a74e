import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../functions/common/clients.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { IngestResult, Run, SourceFile } from '../../functions/common/contracts.ts';
import { TransientError } from '../../functions/common/errors.ts';
import { leaseKey, rejectsKey } from '../../functions/common/keys.ts';
import type { StoredRow } from '../../functions/common/rows.ts';
import { type IngestDeps, ingestFile } from '../../functions/ingest/ingest.ts';
import type { RowStore } from '../../functions/ingest/store.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { createRowTable, IB_HEADER, ibLine, putSource, tableItems, tableRows } from './files.ts';

/**
 * What the emulator cannot show — throttling, unprocessed keys and items, a crash, two
 * ingests in a chosen order — injected with aws-sdk-client-mock in front of the real local
 * DynamoDB: every request the test does not fail or hold goes through to dynalite. In every
 * case the table ends as a clean single run leaves it.
 */

// The per-row read path (BatchGetItem) is what these faults hit; digests.test.ts runs crash and concurrency with digests.
const config = { ...loadConfigFile(), rowDigests: { enabled: false } };
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

function ingest(
  file: SourceFile,
  dynamodb: DynamoDBDocumentClient,
  table: string,
  lease?: IngestDeps['lease'],
): Promise<IngestResult> {
  return ingestFile(
    { run, file },
    {
      config,
      s3: stack.clients.s3,
      dynamodb,
      resources: { ...stack.resources, table },
      store: { backoff, requestsInFlight: 8 },
      ...(lease ? { lease } : {}),
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
  mock.on(BatchWriteCommand).callsFake((input) => real.send(new BatchWriteCommand(input)));
  mock.on(PutCommand).callsFake((input) => real.send(new PutCommand(input)));
  mock.on(DeleteCommand).callsFake((input) => real.send(new DeleteCommand(input)));
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
    expect(await tableItems(stack, table)).toEqual([]);
  });

  it('writes again the items left unprocessed, several times in a row, with growing jittered waits', async () => {
    // 24 rows to write: one BatchWriteItem request, so its rounds follow one another.
    const file = await putSource(
      stack,
      'IB_Calls',
      ibExport(25, (a) => a + 7),
      '2026-03-09T15:00:00Z',
      'unwritten.csv',
    );
    const clean = await cleanRun(file);
    const { client, mock } = faultyClient();
    const sizes: number[] = [];
    // The first four answers write only the first half of the items sent.
    mock.on(BatchWriteCommand).callsFake(async (input) => {
      const table = Object.keys(input.RequestItems ?? {})[0] as string;
      const requests = input.RequestItems?.[table] ?? [];
      sizes.push(requests.length);
      if (sizes.length > 4) return real.send(new BatchWriteCommand(input));
      const half = Math.ceil(requests.length / 2);
      await real.send(new BatchWriteCommand({ RequestItems: { [table]: requests.slice(0, half) } }));
      return { UnprocessedItems: { [table]: requests.slice(half) } };
    });
    waits.length = 0;
    const table = await createRowTable(stack, `unwritten-${++tables}`);
    const result = await ingest(file, client, table);
    expect(result.counts).toEqual(clean.results[0]?.counts);
    expect(sizes).toEqual([24, 12, 6, 3, 1]);
    expect(waits).toEqual([25, 50, 100, 200]);
    expect(await tableRows(stack, table)).toEqual(clean.rows);
  });

  it('fails the file clearly, as a transient error, when items stay unprocessed', async () => {
    const file = await putSource(
      stack,
      'IB_Calls',
      ibExport(30, (a) => a + 9),
      '2026-03-09T15:00:00Z',
      'unwritable.csv',
    );
    const { client, mock } = faultyClient();
    mock.on(BatchWriteCommand).callsFake(async (input) => ({ UnprocessedItems: input.RequestItems }));
    waits.length = 0;
    const table = await createRowTable(stack, `unwritable-${++tables}`);
    await expect(ingest(file, client, table)).rejects.toMatchObject({
      name: 'TransientError',
      message: 'DynamoDB left 25 items unwritten after 15 BatchWriteItem attempts',
    });
    // 29 rows: a request of 25 and one of 4, each sent 15 times; nothing written, the lease released.
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(30);
    expect(await tableItems(stack, table)).toEqual([]);
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
    // Every third write request is throttled whole.
    mock.on(BatchWriteCommand).callsFake((input) => {
      if (++writes % 3 === 0) throw throttled();
      return real.send(new BatchWriteCommand(input));
    });
    const table = await createRowTable(stack, `throttled-${++tables}`);
    const result = await ingest(file, client, table);
    expect(result.counts).toEqual(clean.results[0]?.counts);
    // 144 rows in 6 requests (100 + 44 read, 25 written at a time) succeed; two calls failed on the way.
    expect(writes).toBe(6 + 2);
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
    // Four write requests land, then the invocation is stopped: nothing more is sent, not even the lease's release.
    let writes = 0;
    let landed = 0;
    // A crash stops the invocation where it is: like a transient error, it leaves the file to a retry, not to quarantine.
    const crash = () => new TransientError('Task timed out after 300.00 seconds');
    mock.on(BatchWriteCommand).callsFake(async (input) => {
      if (++writes > 4) throw crash();
      const table = Object.keys(input.RequestItems ?? {})[0] as string;
      landed += input.RequestItems?.[table]?.length ?? 0;
      return real.send(new BatchWriteCommand(input));
    });
    mock.on(DeleteCommand).rejects(crash());
    const table = await createRowTable(stack, `crash-${++tables}`);
    await expect(ingest(file, client, table)).rejects.toThrow('Task timed out');
    const left = await tableItems(stack, table);
    const written = left.filter((item) => item.pk.startsWith('ROW#')).length;
    expect(written).toBe(landed);
    expect(written).toBeGreaterThan(0);
    expect(left.filter((item) => item.pk === leaseKey('2026-03-09', 'IB_Calls').pk)).toHaveLength(1);

    // The rerun comes once the crashed holder's lease has ended, and takes it over.
    const later = () => Date.now() + 20 * 60_000;
    const rerun = await ingest(file, real, table, { clock: later });
    expect(rerun.counts).toEqual({ ...clean.results[0]?.counts, inserted: 240 - written, unchanged: written });
    expect(await tableRows(stack, table)).toEqual(clean.rows);
    expect(await text(rejectsKey(file.key))).toBe(cleanRejects);
  });

  it('decides a row repeated in a file only once its earlier occurrence is written', async () => {
    // Agent X's 10:00 interval, complete, then 120 rows later again, partial: the complete one stays.
    const x = (handle: number, complete: number) => ibLine(10, 'agent-x', 'X', handle, 1000, complete);
    const others = Array.from({ length: 120 }, (_, a) => ibLine(10, `agent-${a}`, `Agent ${a}`, a, 1000, 0));
    const file = await putSource(
      stack,
      'IB_Calls',
      `${[IB_HEADER, x(5, 1), ...others, x(9, 0)].join('\r\n')}\r\n`,
      '2026-03-09T15:00:00Z',
      'repeat.csv',
    );
    const { client, mock } = faultyClient();
    // X's key is known once X is written: a read asking for it after that is the repeat's.
    const log: string[] = [];
    let xKey = '';
    mock.on(BatchGetCommand).callsFake(async (input) => {
      const table = Object.keys(input.RequestItems ?? {})[0] as string;
      const keys: Record<string, unknown>[] = input.RequestItems?.[table]?.Keys ?? [];
      log.push(keys.some((key) => `${key.pk} ${key.sk}` === xKey) ? 'read X' : 'read');
      return real.send(new BatchGetCommand(input));
    });
    mock.on(BatchWriteCommand).callsFake(async (input) => {
      const table = Object.keys(input.RequestItems ?? {})[0] as string;
      const requests: { PutRequest?: { Item?: Partial<StoredRow> } }[] = input.RequestItems?.[table] ?? [];
      const written = requests
        .map((request) => request.PutRequest?.Item)
        .find((item) => item?.values?.['Agent Id'] === 'agent-x');
      const answer = await real.send(new BatchWriteCommand(input));
      if (written) xKey = `${written.pk} ${written.sk}`;
      log.push(written ? 'wrote X' : 'wrote');
      return answer;
    });
    const table = await createRowTable(stack, `repeat-${++tables}`);
    const result = await ingest(file, client, table);
    expect(result.counts).toMatchObject({ read: 122, inserted: 121, unchanged: 1, updated: 0, stale: 0 });
    // Written once (the complete version), and read again only after that.
    expect(log.filter((entry) => entry.endsWith('X'))).toEqual(['wrote X', 'read X']);
    const stored = (await tableRows(stack, table)).filter((row) => row.values['Agent Id'] === 'agent-x');
    expect(stored.map((row) => [row.values.Handle, row.complete])).toEqual([[5, true]]);
  });

  it("starts no write once the invocation's time is up, even with its lease taken", async () => {
    const file = await putSource(
      stack,
      'IB_Calls',
      ibExport(40, (a) => a + 11),
      '2026-03-09T15:00:00Z',
      'out-of-time.csv',
    );
    const { client, mock } = faultyClient();
    let now = Date.parse('2026-03-10T12:00:00Z');
    // The lease is taken, then the clock passes the invocation's end before any write.
    mock.on(PutCommand).callsFake(async (input) => {
      const answer = await real.send(new PutCommand(input));
      now += 300_000;
      return answer;
    });
    const table = await createRowTable(stack, `out-of-time-${++tables}`);
    await expect(ingest(file, client, table, { clock: () => now, stopsAt: now + 300_000 })).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringMatching(/time is up/),
    });
    expect(mock.commandCalls(BatchGetCommand)).toHaveLength(1);
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(0);
    expect(await tableItems(stack, table)).toEqual([]);
  });

  for (const first of ['older', 'newer'] as const) {
    it(`keeps the newer version when two ingests of one type run at once (${first} takes the lease): the other waits for it`, async () => {
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
      const [a, b] = first === 'older' ? [older, newer] : [newer, older];
      // What each ingest asked of the table, in the order the table answered.
      const log: string[] = [];
      const signal = () => {
        let done: () => void = () => undefined;
        const happened = new Promise<void>((resolve) => {
          done = resolve;
        });
        return { done, happened };
      };
      const aHolds = signal();
      const bRefused = signal();
      const aReleased = signal();
      const recorded = (who: string) => {
        const { client, mock } = faultyClient();
        mock.on(BatchGetCommand).callsFake(async (input) => {
          const answer = await real.send(new BatchGetCommand(input));
          log.push(`${who} BatchGetItem`);
          return answer;
        });
        mock.on(BatchWriteCommand).callsFake(async (input) => {
          // A writes only once B has been refused the lease: B tried while A held it.
          if (who === 'A') await bRefused.happened;
          const answer = await real.send(new BatchWriteCommand(input));
          log.push(`${who} BatchWriteItem`);
          return answer;
        });
        mock.on(PutCommand).callsFake(async (input) => {
          // B asks for the lease only once A has it.
          if (who === 'B') await aHolds.happened;
          try {
            const answer = await real.send(new PutCommand(input));
            log.push(`${who} lease taken`);
            if (who === 'A') aHolds.done();
            return answer;
          } catch (error) {
            log.push(`${who} lease refused`);
            bRefused.done();
            throw error;
          }
        });
        mock.on(DeleteCommand).callsFake(async (input) => {
          const answer = await real.send(new DeleteCommand(input));
          log.push(`${who} lease released`);
          if (who === 'A') aReleased.done();
          return answer;
        });
        return client;
      };
      const table = await createRowTable(stack, `race-${++tables}`);
      // B's wait for the lease lasts until A has released it: waits are not slept.
      const bWaits = { backoff: { sleep: () => aReleased.happened } };
      const [ra, rb] = await Promise.all([ingest(a, recorded('A'), table), ingest(b, recorded('B'), table, bWaits)]);
      expect(await tableRows(stack, table)).toEqual(clean.rows);

      // A read and wrote every row under its lease; B, refused while A held it, read nothing
      // until A had released it, then read what A wrote.
      const bWrites = first === 'older' ? 6 : 0;
      expect(log.filter((entry) => entry.startsWith('A '))).toEqual([
        'A lease taken',
        ...Array(2).fill('A BatchGetItem'),
        ...Array(6).fill('A BatchWriteItem'),
        'A lease released',
      ]);
      expect(log.indexOf('B lease refused')).toBeLessThan(log.indexOf('A BatchWriteItem'));
      expect(log.slice(log.indexOf('A lease released'))).toEqual([
        'A lease released',
        'B lease taken',
        ...Array(2).fill('B BatchGetItem'),
        ...Array(bWrites).fill('B BatchWriteItem'),
        'B lease released',
      ]);
      expect(ra.counts).toMatchObject({ inserted: 144, updated: 0, stale: 0 });
      expect(rb.counts).toMatchObject(
        first === 'older' ? { inserted: 0, updated: 144, stale: 0 } : { inserted: 0, updated: 0, stale: 144 },
      );
    });
  }
});

async function text(key: string): Promise<string> {
  const object = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.dataBucket, Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}
