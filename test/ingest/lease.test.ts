import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { Run, SourceFile } from '../../functions/common/contracts.ts';
import { logger } from '../../functions/common/observability.ts';
import { type IngestDeps, ingestFile } from '../../functions/ingest/ingest.ts';
import { LEASE_MARGIN_MS, Leases, withLeases } from '../../functions/ingest/lease.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { AGENT_1, AGENT_2, createRowTable, IB_HEADER, ibLine, putSource, tableItems, tableRows } from './files.ts';

/**
 * Leases against the local DynamoDB: one writer at a time per business date and export
 * type, taken over only once its holder's time and margin are over, never waited for while
 * holding another. Clocks and waits are injected: nothing sleeps.
 */

const config = loadConfigFile();
const run: Run = {
  date: '2026-03-09',
  reports: ['IB_Calls'],
  force: false,
  deliver: true,
  executionId: 'lease',
  window: { start: '2026-03-09T05:00:00.000Z', end: '2026-03-10T07:00:00.000Z' },
};

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack(mkdtempSync(join(tmpdir(), 'charlie-lease-')));
  logger.setLogLevel('SILENT');
});
afterAll(async () => stack.stop());

let tables = 0;
async function freshTable() {
  const table = await createRowTable(stack, `lease-${++tables}`);
  return { table, store: { dynamodb: stack.clients.dynamodb, table } };
}

/** A clock the test moves, and backoff waits that move it instead of sleeping. */
function fakeTime() {
  const time = { now: Date.parse('2026-03-10T12:00:00Z'), waits: [] as number[] };
  const clock = () => time.now;
  const backoff = {
    sleep: async (ms: number) => {
      time.waits.push(ms);
      time.now += ms;
    },
    random: () => 0.5,
  };
  return { time, clock, backoff };
}

async function leaseItems(table: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await stack.clients.dynamodb.send(new ScanCommand({ TableName: table }));
  return Items.filter((item) => String(item.pk).startsWith('LEASE#'));
}

function ingest(file: SourceFile, table: string, lease?: IngestDeps['lease']) {
  return ingestFile(
    { run, file },
    {
      config,
      s3: stack.clients.s3,
      dynamodb: stack.clients.dynamodb,
      resources: { ...stack.resources, table },
      ...(lease ? { lease } : {}),
    },
  );
}

const csv = (...lines: string[]) => `${[IB_HEADER, ...lines].join('\r\n')}\r\n`;

/** Rows on two business dates: 22:00 on the 9th, midnight on the 10th (Chicago). */
const acrossMidnight = (handle: number) =>
  csv(
    ibLine(22, AGENT_1, 'José Peña', handle, 1000),
    ibLine(22, AGENT_2, 'Zoë Müller', handle, 1000),
    `2026-03-10 00:00:00,2026-03-10 01:00:00,1.0,Initial Direction: Inbound; Queue: LLSA-ACQ-DM,voice,${AGENT_1},José Peña,${handle}.0,1000`,
  );

describe('leases', () => {
  it('has one holder at a time: another waits up to its bound, then fails as a transient error', async () => {
    const { table, store } = await freshTable();
    const t = fakeTime();
    const start = t.time.now;
    const first = new Leases({ ...store, clock: t.clock, stopsAt: start + 300_000, heldFor: 'first.csv' });
    await first.hold('2026-03-09', 'IB_Calls');
    expect(first.holds('2026-03-09', 'IB_Calls')).toBe(true);
    expect(first.holds('2026-03-10', 'IB_Calls')).toBe(false);
    const item = {
      pk: 'LEASE#2026-03-09#IB_Calls',
      sk: 'LEASE',
      holder: first.holder,
      // The holder's end (5 minutes on) and the margin; the TTL deletes the item a day later.
      leaseUntil: start + 300_000 + LEASE_MARGIN_MS,
      expiresAt: (start + 300_000 + LEASE_MARGIN_MS) / 1000 + 86_400,
      takenAt: '2026-03-10T12:00:00.000Z',
      heldFor: 'first.csv',
    };
    expect(await leaseItems(table)).toEqual([item]);

    const second = new Leases({ ...store, clock: t.clock, maxWaitMs: 10_000, backoff: t.backoff });
    await expect(second.hold('2026-03-09', 'IB_Calls')).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringMatching(
        /^IB_Calls rows of 2026-03-09 are being written by another ingest: its lease was still held after 1\d s$/,
      ),
    });
    // It polled with growing, jittered waits until the bound, and no longer.
    const waited = t.time.waits.reduce((sum, ms) => sum + ms, 0);
    expect(t.time.waits.slice(0, 4)).toEqual([50, 100, 200, 400]);
    expect(Math.max(...t.time.waits)).toBe(1_000);
    expect(waited).toBeGreaterThanOrEqual(10_000);
    expect(waited - (t.time.waits.at(-1) ?? 0)).toBeLessThan(10_000);
    expect(await leaseItems(table)).toEqual([item]);

    // Released, it is free at once.
    await first.release();
    expect(await leaseItems(table)).toEqual([]);
    await second.hold('2026-03-09', 'IB_Calls');
    expect(await leaseItems(table)).toEqual([expect.objectContaining({ holder: second.holder })]);
  });

  it("is taken over only after its holder's end and margin; the old holder's late release leaves it", async () => {
    const { table, store } = await freshTable();
    const t = fakeTime();
    const crashed = new Leases({ ...store, clock: t.clock, stopsAt: t.time.now + 300_000 });
    await crashed.hold('2026-03-09', 'IB_Calls');

    t.time.now = crashed.until;
    const next = new Leases({ ...store, clock: t.clock, maxWaitMs: 0 });
    await expect(next.hold('2026-03-09', 'IB_Calls')).rejects.toMatchObject({ name: 'TransientError' });
    t.time.now = crashed.until + 1;
    await next.hold('2026-03-09', 'IB_Calls');

    await crashed.release();
    expect(await leaseItems(table)).toEqual([expect.objectContaining({ holder: next.holder })]);
  });

  it('never waits for a second lease while holding one: it fails, and every lease it took is released', async () => {
    const { table, store } = await freshTable();
    const other = new Leases(store);
    await other.hold('2026-03-10', 'IB_Calls');
    const t = fakeTime();
    await expect(
      withLeases({ ...store, clock: t.clock, backoff: t.backoff }, async (leases) => {
        await leases.hold('2026-03-09', 'IB_Calls');
        await leases.hold('2026-03-10', 'IB_Calls');
      }),
    ).rejects.toMatchObject({
      name: 'TransientError',
      message:
        'IB_Calls rows of 2026-03-10 are being written by another ingest, and this one holds LEASE#2026-03-09#IB_Calls: it gives them up rather than wait',
    });
    expect(t.time.waits).toEqual([]);
    expect(await leaseItems(table)).toEqual([
      expect.objectContaining({ pk: 'LEASE#2026-03-10#IB_Calls', holder: other.holder }),
    ]);
  });

  it('allows no write once its holder is over by its clock', async () => {
    const { store } = await freshTable();
    const t = fakeTime();
    const leases = new Leases({ ...store, clock: t.clock, stopsAt: t.time.now + 1_000 });
    await leases.hold('2026-03-09', 'IB_Calls');
    leases.assertWritable();
    t.time.now += 1_000;
    expect(() => leases.assertWritable()).toThrow(
      expect.objectContaining({ name: 'TransientError', message: expect.stringMatching(/time is up/) }),
    );
  });
});

describe('ingest under leases', () => {
  it('fails as a transient error after the bounded wait while another ingest holds the lease, then succeeds once it is released', async () => {
    const { table, store } = await freshTable();
    const file = await putSource(stack, 'IB_Calls', acrossMidnight(4), '2026-03-09T15:00:00Z', 'held.csv');
    const holder = new Leases(store);
    await holder.hold('2026-03-09', 'IB_Calls');
    const t = fakeTime();
    await expect(ingest(file, table, { clock: t.clock, maxWaitMs: 2_000, backoff: t.backoff })).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringMatching(/its lease was still held/),
    });
    expect(t.time.waits.length).toBeGreaterThan(0);
    // Nothing stored, and the holder's lease untouched.
    expect(await tableItems(stack, table)).toEqual([
      expect.objectContaining({ pk: 'LEASE#2026-03-09#IB_Calls', holder: holder.holder }),
    ]);

    await holder.release();
    expect((await ingest(file, table)).counts).toMatchObject({ read: 3, inserted: 3 });
    expect(await leaseItems(table)).toEqual([]);
  });

  it("writes a file's rows of two business dates under two leases, and releases both", async () => {
    const { table } = await freshTable();
    const file = await putSource(stack, 'IB_Calls', acrossMidnight(5), '2026-03-09T15:00:00Z', 'two-days.csv');
    expect((await ingest(file, table)).counts).toMatchObject({ read: 3, inserted: 3 });
    expect((await tableRows(stack, table)).map((row) => row.date)).toEqual(['2026-03-09', '2026-03-09', '2026-03-10']);
    expect(await leaseItems(table)).toEqual([]);
  });

  it('gives its first lease up rather than wait for the second; the retry ends as a clean run', async () => {
    const clean = await freshTable();
    const { table, store } = await freshTable();
    const file = await putSource(stack, 'IB_Calls', acrossMidnight(6), '2026-03-09T15:00:00Z', 'blocked.csv');
    await ingest(file, clean.table);

    const other = new Leases(store);
    await other.hold('2026-03-10', 'IB_Calls');
    const t = fakeTime();
    await expect(ingest(file, table, { clock: t.clock, backoff: t.backoff })).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringMatching(/it gives them up rather than wait$/),
    });
    expect(t.time.waits).toEqual([]);
    expect(await leaseItems(table)).toEqual([expect.objectContaining({ holder: other.holder })]);

    await other.release();
    await ingest(file, table);
    expect(await tableRows(stack, table)).toEqual(await tableRows(stack, clean.table));
  });

  it('starts no write after the time the invocation was given', async () => {
    const { table } = await freshTable();
    const file = await putSource(stack, 'IB_Calls', acrossMidnight(7), '2026-03-09T15:00:00Z', 'late.csv');
    await expect(ingest(file, table, { stopsAt: Date.now() - 1 })).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringMatching(/time is up/),
    });
    expect(await tableItems(stack, table)).toEqual([]);
  });
});
