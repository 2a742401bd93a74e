import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEY } from '../shared/keys.ts';
import { isTransientAwsError, type RetryOptions, retry, TransientError } from '../shared/retry.ts';
import type { StoredRow } from '../shared/rows.ts';

/**
 * A row ready to store: its item, and its rank among versions of the same identity,
 * compared as text (formed by `versionMaker` in ingest.ts):
 * `<1 complete | 0 partial>|<export time, ISO instant>|<source sha256>|<line, 9 digits>`.
 * A complete row beats a partial one, then the newer export wins; the source file and line
 * only break exact ties, so that any order of ingest ends with the same row.
 */
export type RowVersion = StoredRow & { rank: string };

export type StoreOutcome = 'inserted' | 'updated' | 'unchanged' | 'stale';

/** What is stored for an identity: enough to decide whether a version replaces it. */
interface Stored {
  rank: string;
  digest: string;
}

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
  /** Batches of up to 100 rows being read and written at once (default 4): bounds the rows, and the SDK's garbage, in flight. */
  batchesInFlight?: number;
  /** Single-item requests (writes and re-reads) in flight at once, over all batches (default 32). */
  requestsInFlight?: number;
  /** How the backoff waits and draws its jitter (tests record the waits). */
  backoff?: Pick<RetryOptions, 'sleep' | 'random'>;
}

/** Throttling and 5xx: retried with backoff and full jitter by the shared helper. */
const transientRetry = { retryable: isTransientAwsError, attempts: 10, baseMs: 50, maxMs: 5_000 };

/** Rounds of BatchGetItem for keys DynamoDB leaves unprocessed before the file fails (and is retried whole). */
const unprocessedAttempts = 15;

/** Times a write may find another version written since it looked, before the file fails. */
const conditionalRounds = 10;

/** BatchGetItem's limit. */
const batchSize = 100;

/**
 * Stores a file's versions as they come: reads what is stored in batches of 100 keys
 * (BatchGetItem, consistent), then writes only the versions that rank above it, one
 * conditional PutItem each, a bounded number in flight.
 *
 * Why not BatchWriteItem: it has no conditions, so a blind put can land after a concurrent
 * ingest wrote a newer version of the same identity and silently replace it — also when
 * the key was proven absent a moment before — and no later read can tell, because the newer
 * version is gone. Making blind writes safe takes an exclusive writer per day and type (a
 * lease), whose safety rests on timing (a lease outliving its holder's last request);
 * TransactWriteItems would make batches conditional, but the local emulator lacks it. So
 * every write is conditional and correct under any interleaving, at the price of one request
 * per written row. Unchanged and older rows, most of an hourly "day so far" export, cost a
 * share of one batched read and no write.
 */
export class RowWriter {
  private batch: RowVersion[] = [];
  private keys = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private readonly requests: Limiter;
  private readonly batchLimit: number;
  readonly counts: Record<StoreOutcome, number> = { inserted: 0, updated: 0, unchanged: 0, stale: 0 };

  constructor(private readonly store: RowStore) {
    this.requests = new Limiter(store.requestsInFlight ?? 32);
    this.batchLimit = store.batchesInFlight ?? 4;
  }

  /** Queues a version; the promise, when there is one, waits for room in the bounded pipeline. */
  add(row: RowVersion): Promise<void> | undefined {
    if (this.failure) throw this.failure.error;
    const key = keyOf(row);
    // BatchGetItem refuses a key twice in one request: a repeat starts the next batch.
    if (this.keys.has(key)) this.dispatch();
    this.batch.push(row);
    this.keys.add(key);
    if (this.batch.length >= batchSize) this.dispatch();
    return this.inFlight.size >= this.batchLimit ? this.room() : undefined;
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
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private async room(): Promise<void> {
    while (this.inFlight.size >= this.batchLimit) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure.error;
  }

  private dispatch(): void {
    if (this.batch.length === 0) return;
    const rows = this.batch;
    this.batch = [];
    this.keys = new Set();
    const done: Promise<void> = this.storeBatch(rows).then(
      (outcomes) => {
        for (const outcome of outcomes) this.counts[outcome]++;
        this.inFlight.delete(done);
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.inFlight.delete(done);
      },
    );
    this.inFlight.add(done);
  }

  private async storeBatch(rows: RowVersion[]): Promise<StoreOutcome[]> {
    const stored = await readStored(rows, this.store, this.store.backoff ?? {});
    // Settled, not raced: a failed batch is over only when none of its writes is still running.
    const results = await Promise.allSettled(rows.map((row) => this.storeVersion(row, stored.get(keyOf(row)))));
    return results.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });
  }

  /** Writes a version if it ranks above what is stored; when another write got there first, looks again. */
  private async storeVersion(row: RowVersion, known: Stored | undefined): Promise<StoreOutcome> {
    let stored = known;
    for (let round = 1; ; round++) {
      const decision = classify(row, stored);
      if (!decision.write) return decision.outcome;
      try {
        const put = conditionalPut(row, stored, this.store.table);
        await this.requests.run(() =>
          retry(() => this.store.dynamodb.send(put), { ...transientRetry, ...this.store.backoff }),
        );
        return decision.outcome;
      } catch (error) {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        if (round >= conditionalRounds) {
          throw new TransientError(`${row.pk} ${row.sk}: still being replaced after ${round} conditional writes`);
        }
        stored = await this.requests.run(() => readOne(row, this.store, this.store.backoff ?? {}));
      }
    }
  }
}

function conditionalPut(row: RowVersion, stored: Stored | undefined, table: string): PutCommand {
  return new PutCommand({
    TableName: table,
    Item: row,
    ...(stored === undefined
      ? {
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEY.partition },
        }
      : {
          ConditionExpression: '#rank < :rank',
          ExpressionAttributeNames: { '#rank': 'rank' },
          ExpressionAttributeValues: { ':rank': row.rank },
        }),
  });
}

function keyOf(row: Pick<StoredRow, 'pk' | 'sk'>): string {
  return `${row.pk}\u0000${row.sk}`;
}

const projection = {
  ProjectionExpression: '#pk, #sk, #rank, digest',
  ExpressionAttributeNames: { '#pk': TABLE_KEY.partition, '#sk': TABLE_KEY.sort, '#rank': 'rank' },
};

/**
 * What is stored for up to 100 keys. Keys DynamoDB leaves unprocessed (throttling, size)
 * are asked again with backoff and jitter until all are read, or the file fails with a
 * TransientError, which the state machine retries.
 */
async function readStored(
  rows: RowVersion[],
  store: RowStore,
  backoff: RowStore['backoff'] & {},
): Promise<Map<string, Stored>> {
  const found = new Map<string, Stored>();
  let keys: Record<string, unknown>[] = rows.map((row) => ({ pk: row.pk, sk: row.sk }));
  await retry(
    async () => {
      const result = await retry(
        () =>
          store.dynamodb.send(
            new BatchGetCommand({
              RequestItems: { [store.table]: { Keys: keys, ConsistentRead: true, ...projection } },
            }),
          ),
        { ...transientRetry, ...backoff },
      );
      for (const item of result.Responses?.[store.table] ?? []) {
        found.set(keyOf(item as StoredRow), { rank: String(item.rank), digest: String(item.digest) });
      }
      keys = result.UnprocessedKeys?.[store.table]?.Keys ?? [];
      if (keys.length > 0) throw new UnprocessedKeys(keys.length);
    },
    {
      retryable: (error) => error instanceof UnprocessedKeys,
      attempts: unprocessedAttempts,
      baseMs: 50,
      maxMs: 5_000,
      ...backoff,
    },
  ).catch((error: unknown) => {
    if (error instanceof UnprocessedKeys) {
      throw new TransientError(
        `DynamoDB left ${error.count} keys unread after ${unprocessedAttempts} BatchGetItem attempts`,
      );
    }
    throw error;
  });
  return found;
}

class UnprocessedKeys extends Error {
  override name = 'UnprocessedKeys';
  constructor(readonly count: number) {
    super(`${count} keys unprocessed`);
  }
}

async function readOne(
  row: RowVersion,
  store: RowStore,
  backoff: RowStore['backoff'] & {},
): Promise<Stored | undefined> {
  const result = await retry(
    () =>
      store.dynamodb.send(
        new GetCommand({
          TableName: store.table,
          Key: { pk: row.pk, sk: row.sk },
          ConsistentRead: true,
          ...projection,
        }),
      ),
    { ...transientRetry, ...backoff },
  );
  return result.Item ? { rank: String(result.Item.rank), digest: String(result.Item.digest) } : undefined;
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
