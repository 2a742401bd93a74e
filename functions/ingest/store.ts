import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { TABLE_KEY } from '../common/keys.ts';
import { isTransientAwsError, type RetryOptions, retry, TransientError } from '../common/retry.ts';
import type { StoredRow } from '../common/rows.ts';
import type { RowDigests, Stored } from './digests.ts';
import type { Leases } from './lease.ts';

/**
 * A row ready to store: its item, and its rank among versions of the same identity,
 * compared as text (formed by `versionMaker` in ingest.ts):
 * `<1 complete | 0 partial>|<export time, ISO instant>|<source sha256>|<line, 9 digits>`.
 * A complete row beats a partial one, then the newer export wins; the source file and line
 * only break exact ties, so that any order of ingest ends with the same row.
 */
export type RowVersion = StoredRow & { rank: string };

export type StoreOutcome = 'inserted' | 'updated' | 'unchanged' | 'stale';

/** The source file's part of a rank (its sha256). */
function rankSource(rank: string): string {
  return rank.split('|', 3)[2] ?? '';
}

interface Decision {
  outcome: StoreOutcome;
  /** Whether the version must be written: it ranks above what is stored, or nothing is. */
  write: boolean;
}

/**
 * What a version is against the stored one. The stored row is always the highest-ranked
 * version seen, whole (values, export time, lineage), so that the table depends only on
 * which versions were ingested, never on their order: a newer export with the same values
 * is counted unchanged but still written, or an older, different version arriving after it
 * would wrongly replace the older copy of those values (A, then A again newer, then B older).
 * Rows of the same source file count as unchanged: that is re-ingesting the file.
 */
export function classify(row: RowVersion, stored: Stored | undefined): Decision {
  if (!stored) return { outcome: 'inserted', write: true };
  if (stored.rank === row.rank) return { outcome: 'unchanged', write: false };
  const same = stored.digest === row.digest;
  if (stored.rank > row.rank) {
    return { outcome: same || rankSource(stored.rank) === rankSource(row.rank) ? 'unchanged' : 'stale', write: false };
  }
  return { outcome: same ? 'unchanged' : 'updated', write: true };
}

export interface RowStore {
  dynamodb: DynamoDBDocumentClient;
  table: string;
  /** The holder the rows are written under: a row's lease (its date and type) is taken before anything of it is read. */
  leases: Leases;
  /** Batches of up to 100 rows being read and written at once (default 4): bounds the rows, and the SDK's garbage, in flight. */
  batchesInFlight?: number;
  /** BatchWriteItem requests in flight at once, over all batches (default 16). */
  requestsInFlight?: number;
  /** How the backoff waits and draws its jitter (tests record the waits). */
  backoff?: Pick<RetryOptions, 'sleep' | 'random'>;
  /**
   * What is stored, known without reading the table (digests.ts): each day's snapshot is loaded
   * once its lease is held, and rows are decided against it instead of a BatchGetItem.
   */
  digests?: RowDigests;
}

/** Throttling and 5xx: retried with backoff and full jitter by the shared helper. */
const transientRetry = { retryable: isTransientAwsError, attempts: 10, baseMs: 50, maxMs: 5_000 };

/** Rounds of a batch request for what DynamoDB leaves unprocessed before the file fails (and is retried whole). */
const unprocessedAttempts = 15;

/** BatchGetItem's limit. */
const batchSize = 100;

/** BatchWriteItem's limit. */
const writeSize = 25;

/**
 * Stores a file's versions as they come, in batches of up to 100 rows: reads what is stored
 * for them (BatchGetItem, consistent), decides each version against it (`classify`), and
 * writes those that rank above it with BatchWriteItem, 25 to a request, a bounded number of
 * batches and requests in flight. Unchanged and older rows, most of an hourly "day so far"
 * export, cost a share of one batched read and no write; a file ingested again writes nothing.
 * With row digests (`digests`, digests.ts) nothing is read row by row: each version is decided
 * against the day's snapshot, loaded once its lease is held, and what is written is set in it.
 *
 * BatchWriteItem has no conditions: a put replaces whatever is stored when it lands. The
 * decision is right only if no one else writes those rows between the read and the write,
 * so every row is read and written under the lease of its business date and export type
 * (lease.ts): one ingest at a time writes a day's rows of one type, and another file of
 * that type, ingested at the same time or out of order, waits for the lease and then reads
 * what the first wrote. Within a file, a repeated identity starts the next batch (so no
 * request holds a key twice), and that batch reads only once every running batch with the
 * same key has written: repeats are decided in file order. The one other writer of rows,
 * taking an undone file out (remove.ts), deletes only a version of that file and only on
 * that condition, so a blind put landing before or after it leaves the right row.
 *
 * The safety rests on a lease outliving its holder's last write. It lasts until the
 * holder's invocation is over — Lambda stops an invocation at its timeout, and elsewhere
 * the holder starts no write after that instant — plus a margin for a request on its way
 * and for clock skew; only then may another ingest take it. Conditional writes would not
 * need a lease, but BatchWriteItem has none, TransactWriteItems is missing from the local
 * emulator, and one conditional PutItem per row made our side, not the store, the
 * bottleneck of the write path.
 */
export class RowWriter {
  private batch: RowVersion[] = [];
  private keys = new Set<string>();
  /** Running batches, with their keys. */
  private readonly inFlight = new Map<Promise<void>, Set<string>>();
  private failure: { error: unknown } | undefined;
  private readonly requests: Limiter;
  private readonly batchLimit: number;
  /** The business date of the last row queued: its lease is held. */
  private leasedDate = '';
  readonly counts: Record<StoreOutcome, number> = { inserted: 0, updated: 0, unchanged: 0, stale: 0 };
  /** Rows read from the table to decide them (keys asked for by BatchGetItem, each round). */
  reads = 0;

  constructor(private readonly store: RowStore) {
    this.requests = new Limiter(store.requestsInFlight ?? 16);
    this.batchLimit = store.batchesInFlight ?? 4;
  }

  /**
   * Queues a version; the promise, when there is one, waits for its lease (the first row
   * of a business date) or for room in the bounded pipeline.
   */
  add(row: RowVersion): Promise<void> | undefined {
    if (this.failure) throw this.failure.error;
    if (row.date !== this.leasedDate) {
      if (!this.store.leases.holds(row.date, row.type)) return this.leaseThenQueue(row);
      this.leasedDate = row.date;
    }
    return this.queue(row);
  }

  /** Stores what is queued and waits for every batch; throws the first failure. */
  async finish(): Promise<Record<StoreOutcome, number>> {
    this.dispatch();
    await this.settle();
    if (this.failure) throw this.failure.error;
    return this.counts;
  }

  /** Waits until no batch is running, whatever happened to them (after a failure elsewhere). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.keys());
  }

  private async leaseThenQueue(row: RowVersion): Promise<void> {
    await this.store.leases.hold(row.date, row.type);
    await this.store.digests?.load(row.date, row.type);
    this.leasedDate = row.date;
    await this.queue(row);
  }

  private queue(row: RowVersion): Promise<void> | undefined {
    const key = keyOf(row);
    // BatchGetItem and BatchWriteItem refuse a key twice in one request: a repeat starts the next batch.
    if (this.keys.has(key)) this.dispatch();
    this.batch.push(row);
    this.keys.add(key);
    if (this.batch.length >= batchSize) this.dispatch();
    return this.inFlight.size >= this.batchLimit ? this.room() : undefined;
  }

  private async room(): Promise<void> {
    while (this.inFlight.size >= this.batchLimit) await Promise.race(this.inFlight.keys());
    if (this.failure) throw this.failure.error;
  }

  private dispatch(): void {
    if (this.batch.length === 0) return;
    const rows = this.batch;
    const keys = this.keys;
    this.batch = [];
    this.keys = new Set();
    // A key repeated in the file may be in a running batch: this one reads once that one has written.
    const before = [...this.inFlight].filter(([, running]) => sharesKey(keys, running)).map(([batch]) => batch);
    const done: Promise<void> = Promise.all(before)
      .then(() => this.storeBatch(rows))
      .then(
        (outcomes) => {
          for (const outcome of outcomes) this.counts[outcome]++;
          this.inFlight.delete(done);
        },
        (error: unknown) => {
          this.failure ??= { error };
          this.inFlight.delete(done);
        },
      );
    this.inFlight.set(done, keys);
  }

  private async storeBatch(rows: RowVersion[]): Promise<StoreOutcome[]> {
    if (this.failure) throw this.failure.error;
    const backoff = this.store.backoff ?? {};
    const digests = this.store.digests;
    const stored = digests ? undefined : await readStored(rows, this.store, backoff, this);
    const outcomes: StoreOutcome[] = [];
    const toWrite: RowVersion[] = [];
    for (const row of rows) {
      const decision = classify(row, digests ? digests.get(row) : stored?.get(keyOf(row)));
      outcomes.push(decision.outcome);
      if (!decision.write) continue;
      digests?.set(row);
      toWrite.push(row);
    }
    // Each day's new generation is recorded before the first of its rows is written.
    if (digests) for (const row of uniqueDays(toWrite)) await digests.beforeWrite(row.date, row.type);
    const writes: Promise<void>[] = [];
    for (let at = 0; at < toWrite.length; at += writeSize) {
      writes.push(this.write(toWrite.slice(at, at + writeSize), backoff));
    }
    // Settled, not raced: a failed batch is over only when none of its writes is still running.
    for (const result of await Promise.allSettled(writes)) if (result.status === 'rejected') throw result.reason;
    return outcomes;
  }

  private write(rows: RowVersion[], backoff: RowStore['backoff'] & {}): Promise<void> {
    return this.requests.run(() => writeItems(rows, this.store, backoff));
  }
}

/** One row of each business date and export type among these. */
function uniqueDays(rows: RowVersion[]): RowVersion[] {
  const days = new Map<string, RowVersion>();
  for (const row of rows) days.set(`${row.date}\u0000${row.type}`, row);
  return [...days.values()];
}

function sharesKey(keys: Set<string>, running: Set<string>): boolean {
  for (const key of keys) if (running.has(key)) return true;
  return false;
}

function keyOf(row: Pick<StoredRow, 'pk' | 'sk'>): string {
  return `${row.pk}\u0000${row.sk}`;
}

const projection = {
  ProjectionExpression: '#pk, #sk, #rank, digest',
  ExpressionAttributeNames: { '#pk': TABLE_KEY.partition, '#sk': TABLE_KEY.sort, '#rank': 'rank' },
};

/** What is stored for up to 100 keys. */
async function readStored(
  rows: RowVersion[],
  store: RowStore,
  backoff: RowStore['backoff'] & {},
  counter: { reads: number },
): Promise<Map<string, Stored>> {
  const found = new Map<string, Stored>();
  let keys: Record<string, unknown>[] = rows.map((row) => ({ pk: row.pk, sk: row.sk }));
  await untilProcessed('keys unread', 'BatchGetItem', backoff, async () => {
    const result = await retry(
      () => {
        counter.reads += keys.length;
        return store.dynamodb.send(
          new BatchGetCommand({
            RequestItems: { [store.table]: { Keys: keys, ConsistentRead: true, ...projection } },
          }),
        );
      },
      { ...transientRetry, ...backoff },
    );
    for (const item of result.Responses?.[store.table] ?? []) {
      found.set(keyOf(item as StoredRow), { rank: String(item.rank), digest: String(item.digest) });
    }
    keys = result.UnprocessedKeys?.[store.table]?.Keys ?? [];
    return keys.length;
  });
  return found;
}

type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

/** Puts up to 25 versions, no two of the same key. No request starts once the holder's time is up. */
async function writeItems(rows: RowVersion[], store: RowStore, backoff: RowStore['backoff'] & {}): Promise<void> {
  let requests: WriteRequests = rows.map((row) => ({ PutRequest: { Item: row } }));
  await untilProcessed('items unwritten', 'BatchWriteItem', backoff, async () => {
    const result = await retry(
      () => {
        store.leases.assertWritable();
        return store.dynamodb.send(new BatchWriteCommand({ RequestItems: { [store.table]: requests } }));
      },
      { ...transientRetry, ...backoff },
    );
    requests = result.UnprocessedItems?.[store.table] ?? [];
    return requests.length;
  });
}

/**
 * Sends a batch request until DynamoDB has processed all of it: `send` returns how much it
 * left unprocessed (throttling, size), which is sent again with backoff and full jitter;
 * after `unprocessedAttempts` rounds the file fails with a TransientError, which the state
 * machine retries.
 */
async function untilProcessed(
  left: string,
  operation: string,
  backoff: RowStore['backoff'] & {},
  send: () => Promise<number>,
): Promise<void> {
  await retry(
    async () => {
      const count = await send();
      if (count > 0) throw new Unprocessed(count);
    },
    {
      retryable: (error) => error instanceof Unprocessed,
      attempts: unprocessedAttempts,
      baseMs: 50,
      maxMs: 5_000,
      ...backoff,
    },
  ).catch((error: unknown) => {
    if (error instanceof Unprocessed) {
      throw new TransientError(
        `DynamoDB left ${error.count} ${left} after ${unprocessedAttempts} ${operation} attempts`,
      );
    }
    throw error;
  });
}

class Unprocessed extends Error {
  override name = 'Unprocessed';
  constructor(readonly count: number) {
    super(`${count} unprocessed`);
  }
}

/** At most `limit` tasks running at once; the rest wait their turn in order. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
