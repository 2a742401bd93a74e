import { randomUUID } from 'node:crypto';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CharlieError, TransientError } from '../common/errors.ts';
import { leaseKey } from '../common/keys.ts';
import { TABLE_KEY } from '../common/names.ts';
import { logger } from '../common/observability.ts';
import { isTransientAwsError, type RetryOptions, retry } from '../common/retry.ts';

/**
 * Leases: one writer at a time for a business day's rows of one export type. Rows are
 * written blind (BatchWriteItem has no conditions, see store.ts) after reading what is
 * stored; the lease is what keeps that read true until the write lands.
 *
 * A lease is one item per (date, type), taken with a conditional PutItem (absent, ended,
 * or already this holder's) and deleted by its holder, conditionally on being its holder.
 * It lasts until its holder's invocation is certainly over, plus a margin for a request
 * still on its way and for clock skew: Lambda stops an invocation at its timeout, and
 * where nothing stops it (local runs, tests) the holder starts no write after that
 * instant. So a holder that crashed, or could not release, stands in the way until then
 * and no longer; the table's TTL deletes its item a day later.
 */

export interface LeaseStore {
  dynamodb: DynamoDBDocumentClient;
  table: string;
}

export interface LeaseOptions {
  /**
   * When the holder's invocation is stopped at the latest (epoch ms, by `clock`): in
   * Lambda, the start plus `context.getRemainingTimeInMillis()`. Default: 15 minutes
   * (Lambda's longest timeout) after the holder is made.
   */
  stopsAt?: number;
  /** How long to wait for a lease another holder has, before giving up with a TransientError (default 60 s). */
  maxWaitMs?: number;
  /** What the holder is doing (e.g. the file's key), kept on the lease item for whoever looks. */
  heldFor?: string;
  /** The clock leases are measured by (epoch ms; default Date.now). */
  clock?: () => number;
  /** How waits for a lease, and retries of throttled requests, sleep and draw their jitter (tests). */
  backoff?: Pick<RetryOptions, 'sleep' | 'random'>;
}

/** How long a lease stands after its holder's end: a request sent just before it, and clock skew. */
export const LEASE_MARGIN_MS = 60_000;

const defaultRunMs = 15 * 60_000;
const defaultMaxWaitMs = 60_000;
/** An ended lease's item is left for the table's TTL to delete, this long after its end. */
const keepEndedSeconds = 86_400;

/** Throttling and 5xx: retried with backoff and full jitter by the shared helper. */
const transientRetry = { retryable: isTransientAwsError, attempts: 10, baseMs: 50, maxMs: 5_000 };

class LeaseHeld extends CharlieError {
  override name = 'LeaseHeld';
}

type Key = { pk: string; sk: string };

/** One holder of leases: one per invocation, taking each lease the first time its work needs it. */
export class Leases {
  /** This holder's id, random. */
  readonly holder = randomUUID();
  /** When every lease this holder takes ends (epoch ms): its invocation's end and the margin. */
  readonly until: number;
  private readonly clock: () => number;
  private readonly stopsAt: number;
  private readonly held = new Map<string, Key>();

  constructor(private readonly options: LeaseStore & LeaseOptions) {
    this.clock = options.clock ?? Date.now;
    this.stopsAt = options.stopsAt ?? this.clock() + defaultRunMs;
    this.until = this.stopsAt + LEASE_MARGIN_MS;
  }

  /** Whether this holder has the lease of a business date and export type. */
  holds(date: string, type: string): boolean {
    return this.held.has(leaseKey(date, type).pk);
  }

  /**
   * Takes the lease of a business date and export type, unless this holder has it. When
   * another holder has it: waits (polling with backoff and jitter) up to `maxWaitMs` if this
   * holder has no lease yet; if it has some, does not wait, since the other might be waiting
   * for one of them. Either way it then throws a TransientError (the state machine retries
   * the file), and the leases this holder has are released with the others by `withLeases`.
   */
  async hold(date: string, type: string): Promise<void> {
    const key = leaseKey(date, type);
    if (this.held.has(key.pk)) return;
    this.assertWritable();
    const others = [...this.held.keys()];
    const waitMs = others.length === 0 ? (this.options.maxWaitMs ?? defaultMaxWaitMs) : 0;
    const start = this.clock();
    try {
      await retry(() => this.take(key), {
        retryable: (error) => error instanceof LeaseHeld && this.clock() - start < waitMs,
        attempts: Number.POSITIVE_INFINITY,
        baseMs: 100,
        maxMs: 2_000,
        ...this.options.backoff,
      });
    } catch (error) {
      if (error instanceof LeaseHeld) {
        throw new TransientError(
          others.length === 0
            ? `${type} rows of ${date} are being written by another ingest: its lease was still held after ${Math.round((this.clock() - start) / 1000)} s`
            : `${type} rows of ${date} are being written by another ingest, and this one holds ${others.join(', ')}: it gives them up rather than wait`,
        );
      }
      // The put may have been applied before the failure: released with the others if it is this holder's.
      this.held.set(key.pk, key);
      throw error;
    }
    this.held.set(key.pk, key);
  }

  /** Throws a TransientError once this holder's invocation is over by its clock: its leases may end, so no write may start. */
  assertWritable(): void {
    if (this.clock() >= this.stopsAt) {
      throw new TransientError(`the invocation's time is up (${new Date(this.stopsAt).toISOString()}): no more writes`);
    }
  }

  /** Deletes every lease this holder has; one taken over meanwhile (after its end) is left to its new holder. */
  async release(): Promise<void> {
    const keys = [...this.held.values()];
    this.held.clear();
    const results = await Promise.allSettled(keys.map((key) => this.delete(key)));
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  }

  private async take(key: Key): Promise<void> {
    const now = this.clock();
    const put = new PutCommand({
      TableName: this.options.table,
      Item: {
        ...key,
        holder: this.holder,
        leaseUntil: this.until,
        takenAt: new Date(now).toISOString(),
        ...(this.options.heldFor === undefined ? {} : { heldFor: this.options.heldFor }),
        expiresAt: Math.ceil(this.until / 1000) + keepEndedSeconds,
      },
      ConditionExpression: 'attribute_not_exists(#pk) OR #until < :now OR #holder = :holder',
      ExpressionAttributeNames: { '#pk': TABLE_KEY.partition, '#until': 'leaseUntil', '#holder': 'holder' },
      ExpressionAttributeValues: { ':now': now, ':holder': this.holder },
    });
    try {
      await retry(() => this.options.dynamodb.send(put), { ...transientRetry, ...this.options.backoff });
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') throw new LeaseHeld(key.pk);
      throw error;
    }
  }

  private async delete(key: Key): Promise<void> {
    const remove = new DeleteCommand({
      TableName: this.options.table,
      Key: key,
      ConditionExpression: '#holder = :holder',
      ExpressionAttributeNames: { '#holder': 'holder' },
      ExpressionAttributeValues: { ':holder': this.holder },
    });
    try {
      await retry(() => this.options.dynamodb.send(remove), { ...transientRetry, ...this.options.backoff });
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}

/**
 * Runs `work` with a holder of leases and releases every lease it took once the work is
 * over, done or failed. The work must have settled every write it started before it
 * returns or throws. A lease that cannot be released is logged and left to end by itself
 * (at `until`): failing the file for it would only make its retry wait for it.
 */
export async function withLeases<T>(
  options: LeaseStore & LeaseOptions,
  work: (leases: Leases) => Promise<T>,
): Promise<T> {
  const leases = new Leases(options);
  try {
    return await work(leases);
  } finally {
    await leases.release().catch((error: unknown) => {
      logger.warn('lease not released: it ends by itself', {
        holder: leases.holder,
        until: new Date(leases.until).toISOString(),
        error: error as Error,
      });
    });
  }
}
