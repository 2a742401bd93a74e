import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDynamoDbClient } from '../../functions/common/clients.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { IngestResult, Run, SourceFile } from '../../functions/common/contracts.ts';
import { TransientError } from '../../functions/common/errors.ts';
import { rowDigestsKey } from '../../functions/common/keys.ts';
import { logger } from '../../functions/common/observability.ts';
import { DaySnapshot, retireRowDigests } from '../../functions/ingest/digests.ts';
import { ingestFile } from '../../functions/ingest/ingest.ts';
import { removeFileRows } from '../../functions/ingest/remove.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { createRowTable, IB_HEADER, ibLine, putSource, tableRows } from './files.ts';

/**
 * Row digests (functions/ingest/digests.ts) against the local S3 and DynamoDB: each case runs
 * the same files into a table with digests and into one without, and the rows stored must be
 * the same, and so must the counts. DynamoDB requests are counted by a middleware on the real
 * client.
 */

const config = loadConfigFile();
/** The baseline every case is compared with: each row read from the table. */
const plainConfig = { ...config, rowDigests: { enabled: false } };
const run: Run = {
  date: '2026-03-09',
  reports: ['IB_Calls'],
  force: false,
  deliver: true,
  executionId: 'digests',
  window: { start: '2026-03-09T05:00:00.000Z', end: '2026-03-10T07:00:00.000Z' },
};
const snapshotKey = rowDigestsKey('2026-03-09', 'IB_Calls');

let stack: LocalStack;
let counted: DynamoDBDocumentClient;
/** The commands the counted client sent, by name, in order. */
const sent: string[] = [];
/** Commands from now on that throw instead of going out, by name. */
const failing = new Map<string, (call: number) => boolean>();
/** What happens before a command goes out, by name. */
const before = new Map<string, () => Promise<unknown>>();
beforeAll(async () => {
  stack = await startLocalStack(mkdtempSync(join(tmpdir(), 'charlie-digests-')));
  logger.setLogLevel('SILENT');
  counted = createDynamoDbClient(stack.endpoints);
  const calls = new Map<string, number>();
  counted.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName as string;
      const call = (calls.get(name) ?? 0) + 1;
      calls.set(name, call);
      if (failing.get(name)?.(call)) throw new TransientError('Task timed out after 300.00 seconds');
      await before.get(name)?.();
      sent.push(name);
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
});
afterAll(async () => {
  counted.destroy();
  await stack.stop();
});

/** The read requests sent since `from`. */
const readsSince = (from: number) => sent.slice(from).filter((name) => /^(BatchGetItem|GetItem|Query|Scan)/.test(name));

let tables = 0;
/** Two fresh tables: one written with row digests, one without; an ingest and an undo for both. */
async function pair() {
  const digested = await createRowTable(stack, `digested-${++tables}`);
  const plain = await createRowTable(stack, `plain-${tables}`);
  const deps = (table: string, withDigests: boolean) => ({
    config: withDigests ? config : plainConfig,
    s3: stack.clients.s3,
    dynamodb: withDigests ? counted : stack.clients.dynamodb,
    resources: { ...stack.resources, table },
    now: () => new Date('2026-03-10T12:00:00Z'),
  });
  /** Into the table with digests: the result, and the read requests it sent. */
  const ingestDigested = async (file: SourceFile) => {
    const from = sent.length;
    const result = await ingestFile({ run, file }, deps(digested, true));
    return { result, reads: readsSince(from) };
  };
  const ingestPlain = (file: SourceFile) => ingestFile({ run, file }, deps(plain, false));
  return {
    digested,
    ingestDigested,
    ingestPlain,
    /** Into both tables, counted the same. */
    async ingest(file: SourceFile) {
      const { result, reads } = await ingestDigested(file);
      const without = await ingestPlain(file);
      expect(result.counts).toEqual(without.counts);
      return { result, reads, plain: without };
    },
    /** Into both tables, with digests off: a day stored before they were. */
    ingestWithoutDigests: (file: SourceFile) =>
      Promise.all([ingestFile({ run, file }, { ...deps(digested, true), config: plainConfig }), ingestPlain(file)]),
    remove: async (file: SourceFile) => {
      await removeFileRows({ run, file, remove: true }, deps(digested, true));
      await removeFileRows({ run, file, remove: true }, deps(plain, false));
    },
    /** The rows of both tables, which must be the same. */
    async sameRows() {
      const stored = await tableRows(stack, digested);
      expect(stored).toEqual(await tableRows(stack, plain));
      return stored;
    },
  };
}

/** An IB_Calls export of agents `from` to `to` (excluded) at 10:00, each row's Handle set by `handle`. */
function ibExport(from: number, to: number, handle: (agent: number) => number): string {
  const lines = [IB_HEADER];
  for (let a = from; a < to; a++)
    lines.push(ibLine(10, `agent-${String(a).padStart(4, '0')}`, `Agent ${a}`, handle(a), 1000, 0));
  return `${lines.join('\r\n')}\r\n`;
}

const source = (body: string, exportedAt: string, name: string) =>
  putSource(stack, 'IB_Calls', body, `2026-03-09T${exportedAt}:00Z`, name);

async function snapshotBytes(): Promise<Uint8Array> {
  const object = await stack.clients.s3.send(
    new GetObjectCommand({ Bucket: stack.resources.dataBucket, Key: snapshotKey }),
  );
  return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
}

const putSnapshot = (body: Uint8Array) =>
  stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.resources.dataBucket, Key: snapshotKey, Body: body }));

const readPerUnchanged = (result: IngestResult) => (result.tableReads ?? 0) / result.counts.unchanged;

/**
 * The case a wrong snapshot would get wrong: 12:00 and 13:00 exports of the same rows stored,
 * then a 12:30 export with other values, which is stale against the 13:00 rows in the table.
 * A snapshot still listing the 12:00 ranks would take it for newer and write it.
 */
async function storedThenOlder(name: string) {
  const tables = await pair();
  const first = await source(
    ibExport(0, 120, (a) => a),
    '12:00',
    `${name}-12.csv`,
  );
  const second = await source(
    ibExport(0, 120, (a) => a + 1),
    '13:00',
    `${name}-13.csv`,
  );
  const between = await source(
    ibExport(0, 120, (a) => a + 2),
    '12:30',
    `${name}-1230.csv`,
  );
  await tables.ingest(first);
  const afterFirst = await snapshotBytes();
  await tables.ingest(second);
  return { tables, between, afterFirst };
}

describe('a row digest snapshot', () => {
  it('reads back what it was given, a rank or digest of an older format as text', () => {
    const source = 'ab'.repeat(32);
    const rows: [string, string, { rank: string; digest: string }][] = [
      [
        'ROW#2026-03-09#IB_Calls#1',
        'a',
        { rank: `1|2026-03-09T15:00:00.000Z|${source}|000000002`, digest: '0123456789abcdef' },
      ],
      [
        'ROW#2026-03-09#IB_Calls#2',
        'b',
        { rank: `0|2026-03-09T16:00:00.000Z|${source}|000000003`, digest: 'f'.repeat(40) },
      ],
      ['ROW#2026-03-09#IB_Calls#3', 'c', { rank: '1|2026-03-09T15:00:00Z|other|2', digest: '0123456789abcdef' }],
    ];
    const snapshot = DaySnapshot.empty('2026-03-09', 'IB_Calls');
    for (const [pk, sk, stored] of rows) snapshot.set(pk, sk, stored);
    const { snapshot: read, generation } = DaySnapshot.decode(snapshot.encode('g1'), '2026-03-09', 'IB_Calls');
    expect(generation).toBe('g1');
    for (const [pk, sk, stored] of rows) expect(read.get(pk, sk)).toEqual(stored);
    expect(read.get('ROW#2026-03-09#IB_Calls#1', 'd')).toBeUndefined();

    // Changed again: a row of an older format rewritten in the current one, and one added.
    read.set('ROW#2026-03-09#IB_Calls#2', 'b', {
      rank: `1|2026-03-09T17:00:00.000Z|${source}|000000004`,
      digest: '1'.repeat(16),
    });
    read.set('ROW#2026-03-09#IB_Calls#4', 'e', {
      rank: `0|2026-03-09T17:00:00.000Z|${'cd'.repeat(32)}|000000005`,
      digest: '2'.repeat(16),
    });
    const again = DaySnapshot.decode(read.encode('g2'), '2026-03-09', 'IB_Calls').snapshot;
    expect(again.size).toBe(4);
    expect(again.get('ROW#2026-03-09#IB_Calls#2', 'b')).toEqual({
      rank: `1|2026-03-09T17:00:00.000Z|${source}|000000004`,
      digest: '1'.repeat(16),
    });
    expect(again.get('ROW#2026-03-09#IB_Calls#3', 'c')).toEqual(rows[2]?.[2]);
    expect(again.get('ROW#2026-03-09#IB_Calls#4', 'e')?.digest).toBe('2'.repeat(16));
    expect(() => DaySnapshot.decode(again.encode('g3'), '2026-03-10', 'IB_Calls')).toThrow(
      'holds IB_Calls of 2026-03-09',
    );
  });
});

describe('row digests', () => {
  it("decide a re-exported file's unchanged rows without reading the table, and store what a table read would", async () => {
    const tables = await pair();
    const first = await source(
      ibExport(0, 300, (a) => a),
      '12:00',
      're-1200.csv',
    );
    // An hour on: the same rows, one changed, ten new.
    const second = await source(
      ibExport(0, 310, (a) => (a === 5 ? 99 : a)),
      '13:00',
      're-1300.csv',
    );

    const firstRun = await tables.ingest(first);
    // A day never given a generation: its partitions are read (empty), nothing row by row.
    expect(firstRun.reads).toEqual(['GetItemCommand', ...Array(plainConfig.storage.shards).fill('QueryCommand')]);
    expect(firstRun.plain.tableReads).toBe(300);

    const secondRun = await tables.ingest(second);
    expect(secondRun.result.counts).toMatchObject({ read: 310, inserted: 10, updated: 1, unchanged: 299, stale: 0 });
    // One read: the day's generation.
    expect(secondRun.reads).toEqual(['GetItemCommand']);
    expect(secondRun.result.tableReads).toBe(1);
    expect(readPerUnchanged(secondRun.result)).toBeLessThanOrEqual(0.01);
    expect(secondRun.plain.tableReads).toBe(310);
    await tables.sameRows();

    // The same file again writes nothing, not even the snapshot.
    const from = sent.length;
    const again = await tables.ingest(second);
    expect(again.result.counts).toMatchObject({ read: 310, unchanged: 310 });
    expect(sent.slice(from)).toEqual([
      'PutItemCommand', // the lease
      'GetItemCommand',
      'DeleteItemCommand', // its release
    ]);
    await tables.sameRows();
  });

  it('keep a snapshot for each business date of a file', async () => {
    const tables = await pair();
    const midnight = (handle: number) =>
      [
        IB_HEADER,
        ibLine(22, 'agent-a', 'A', handle, 1000),
        `2026-03-10 00:00:00,2026-03-10 01:00:00,1.0,Initial Direction: Inbound; Queue: LLSA-ACQ-DM,voice,agent-a,A,${handle}.0,1000`,
        '',
      ].join('\r\n');
    await tables.ingest(await source(midnight(4), '12:00', 'midnight-12.csv'));
    const { result, reads } = await tables.ingest(await source(midnight(5), '13:00', 'midnight-13.csv'));
    expect(result.counts).toMatchObject({ read: 2, updated: 2 });
    expect(reads).toEqual(['GetItemCommand', 'GetItemCommand']);
    const stored = await tables.sameRows();
    expect(stored.map((row) => [row.date, row.values.Handle])).toEqual([
      ['2026-03-09', 5],
      ['2026-03-10', 5],
    ]);
  });

  it('are rebuilt from the table when the snapshot is missing', async () => {
    const { tables, between } = await storedThenOlder('missing');
    await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: stack.resources.dataBucket, Key: snapshotKey }));
    const warn = vi.spyOn(logger, 'warn');
    const { result, reads } = await tables.ingest(between);
    expect(warn).toHaveBeenCalledWith('row digests rebuilt from the table', {
      date: '2026-03-09',
      type: 'IB_Calls',
      reason: 'the snapshot is missing',
    });
    warn.mockRestore();
    expect(result.counts).toMatchObject({ read: 120, stale: 120 });
    expect(reads).toContain('QueryCommand');
    expect(result.tableReads).toBe(1 + 120);
    await tables.sameRows();
    // Written again: the next ingest reads nothing but the generation.
    expect((await tables.ingest(between)).reads).toEqual(['GetItemCommand']);
  });

  it('are rebuilt from the table for a day stored without them', async () => {
    const tables = await pair();
    await tables.ingestWithoutDigests(
      await source(
        ibExport(0, 50, (a) => a),
        '13:00',
        'before-13.csv',
      ),
    );
    const { result, reads } = await tables.ingest(
      await source(
        ibExport(0, 50, (a) => a + 1),
        '12:00',
        'before-12.csv',
      ),
    );
    expect(result.counts).toMatchObject({ read: 50, stale: 50 });
    expect(reads.filter((name) => name === 'QueryCommand')).toHaveLength(plainConfig.storage.shards);
    await tables.sameRows();
  });

  it('are rebuilt from the table when the snapshot is of an older generation', async () => {
    const { tables, between, afterFirst } = await storedThenOlder('stale');
    await putSnapshot(afterFirst);
    const warn = vi.spyOn(logger, 'warn');
    const { result, reads } = await tables.ingest(between);
    expect(warn).toHaveBeenCalledWith(
      'row digests rebuilt from the table',
      expect.objectContaining({
        reason: expect.stringMatching(/^the snapshot is of generation \S+, the table's is \S+$/),
      }),
    );
    warn.mockRestore();
    expect(result.counts).toMatchObject({ read: 120, stale: 120 });
    expect(reads).toContain('QueryCommand');
    await tables.sameRows();
    expect((await tables.ingest(between)).reads).toEqual(['GetItemCommand']);
  });

  const corruptions: [string, (bytes: Uint8Array) => Uint8Array, RegExp][] = [
    ['truncated', (bytes) => bytes.subarray(0, Math.floor(bytes.length / 2)), /^the snapshot is corrupt: not gzip/],
    ['not gzip', () => Buffer.from('garbage'), /^the snapshot is corrupt: not gzip/],
    [
      'garbled inside its gzip',
      (bytes) => {
        const plain = gunzipSync(bytes);
        const at = plain.length - 100;
        plain.writeUInt8(plain.readUInt8(at) ^ 0xff, at);
        return gzipSync(plain);
      },
      /^the snapshot is corrupt: checksum mismatch$/,
    ],
  ];
  for (const [what, corrupt, reason] of corruptions) {
    it(`are rebuilt from the table, and the snapshot repaired, when it is ${what}`, async () => {
      const { tables, between } = await storedThenOlder(what.replaceAll(' ', '-'));
      await putSnapshot(corrupt(await snapshotBytes()));
      const warn = vi.spyOn(logger, 'warn');
      const { result, reads } = await tables.ingest(between);
      expect(warn).toHaveBeenCalledWith(
        'row digests rebuilt from the table',
        expect.objectContaining({ reason: expect.stringMatching(reason) }),
      );
      warn.mockRestore();
      expect(result.counts).toMatchObject({ read: 120, stale: 120 });
      expect(reads).toContain('QueryCommand');
      await tables.sameRows();
      const repaired = await tables.ingest(between);
      expect(repaired.reads).toEqual(['GetItemCommand']);
      expect(repaired.result.counts).toMatchObject({ read: 120, stale: 120 });
    });
  }

  it('are not trusted after an undo: the earlier file puts its rows back', async () => {
    const tables = await pair();
    const earlier = await source(
      ibExport(0, 60, (a) => a),
      '12:00',
      'undo-12.csv',
    );
    const bad = await source(
      ibExport(0, 60, (a) => a + 500),
      '13:00',
      'undo-13.csv',
    );
    await tables.ingest(earlier);
    await tables.ingest(bad);
    await tables.remove(bad);
    const { result } = await tables.ingest(earlier);
    expect(result.counts).toMatchObject({ read: 60, inserted: 60 });
    const rows = await tables.sameRows();
    expect(rows.map((row) => row.values.Handle).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 60 }, (_, a) => a),
    );
  });

  it('lose no entry when two ingests of a day and type run at once', async () => {
    const tables = await pair();
    const older = await source(
      ibExport(0, 150, (a) => a),
      '12:00',
      'race-12.csv',
    );
    const newer = await source(
      ibExport(100, 250, (a) => a + 7),
      '13:00',
      'race-13.csv',
    );
    await Promise.all([tables.ingestDigested(older), tables.ingestDigested(newer)]);
    await tables.ingestPlain(older);
    await tables.ingestPlain(newer);
    // Each file again: every row is found as stored, none is taken for new.
    for (const [file, counts] of [
      [older, { read: 150, unchanged: 100, stale: 50 }],
      [newer, { read: 150, unchanged: 150 }],
    ] as const) {
      const { result, reads } = await tables.ingest(file);
      expect(result.counts).toMatchObject({ ...counts, inserted: 0, updated: 0 });
      expect(reads).toEqual(['GetItemCommand']);
    }
    await tables.sameRows();
  });

  it('write no row once the generation changed under the lease: the file fails, to be retried', async () => {
    const tables = await pair();
    const file = await source(
      ibExport(0, 30, (a) => a),
      '12:00',
      'changed.csv',
    );
    // Another writer, outside the lease, renews the generation between the ingest's load and its first write.
    before.set('UpdateItemCommand', () =>
      retireRowDigests(
        { dynamodb: stack.clients.dynamodb, table: tables.digested, keepDays: 400 },
        '2026-03-09',
        'IB_Calls',
      ),
    );
    await expect(tables.ingestDigested(file)).rejects.toMatchObject({
      name: 'TransientError',
      message: "the row digests of IB_Calls 2026-03-09 changed under this ingest's lease",
    });
    before.clear();
    expect(await tableRows(stack, tables.digested)).toEqual([]);
    await tables.ingest(file);
    await tables.sameRows();
  });

  it('are rebuilt after an ingest stopped half-way; the rerun ends as a clean run', async () => {
    const tables = await pair();
    await tables.ingest(
      await source(
        ibExport(0, 250, (a) => a),
        '12:00',
        'crash-12.csv',
      ),
    );
    const file = await source(
      ibExport(0, 250, (a) => a + 3),
      '13:00',
      'crash-13.csv',
    );
    // The third write request and those after it fail: the first two (50 rows) are stored, the snapshot is not written.
    let writes = 0;
    failing.set('BatchWriteItemCommand', () => ++writes > 2);
    await expect(tables.ingestDigested(file)).rejects.toThrow('Task timed out');
    failing.clear();
    const { result, reads } = await tables.ingestDigested(file);
    await tables.ingestPlain(file);
    expect(result.counts).toMatchObject({ read: 250, updated: 200, unchanged: 50 });
    expect(reads).toContain('QueryCommand');
    await tables.sameRows();
    expect((await tables.ingest(file)).reads).toEqual(['GetItemCommand']);
  });
});
