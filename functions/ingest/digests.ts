import { hash, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CharlieError, TransientError } from '../common/errors.ts';
import { digestGenerationKey, rowDigestsKey, rowPartition } from '../common/keys.ts';
import { TABLE_KEY } from '../common/names.ts';
import { logger } from '../common/observability.ts';
import { isTransientAwsError, type RetryOptions, retry } from '../common/retry.ts';
import type { Leases } from './lease.ts';

/**
 * Row digests: what is stored for a business day's rows of one export type, kept in S3 as a
 * snapshot so that ingest decides each row in memory instead of reading it from the table.
 * For each stored row it holds what `classify` (store.ts) compares: the row's rank (complete,
 * export time, source file, line) and its digest. The table stays the truth; the snapshot is
 * trusted only while it carries the generation the table records for that day and type.
 *
 * Every change goes under the lease of the day and type (lease.ts), in this order: the
 * ingest gives the table a new generation before its first row write, writes its rows, then
 * writes the snapshot with that generation. An ingest stopped on the way leaves the snapshot
 * an older generation than the table, and the next one rebuilds it from the table; undo
 * (remove.ts) gives the table a new generation before it deletes a row. A snapshot that is
 * missing, of another generation, truncated or garbled is logged and rebuilt from a Query of
 * the day's partitions, under the lease, before any row of it is decided.
 */

/** What is stored for an identity: enough to decide whether a version replaces it. */
export interface Stored {
  rank: string;
  digest: string;
}

export interface RowDigestDeps {
  s3: S3Client;
  bucket: string;
  dynamodb: DynamoDBDocumentClient;
  table: string;
  /** Partitions per day and type (`storage.shards`): the ones a rebuild reads. */
  shards: number;
  /** Days rows are kept after their business date (`storage.keepDays`): past that, TTL deletes them unseen. */
  keepDays: number;
  /** The time the day's expiry is compared with (epoch ms). */
  clock: () => number;
  backoff?: Pick<RetryOptions, 'sleep' | 'random'>;
}

/** Throttling and 5xx: retried with backoff and full jitter by the shared helper. */
const transientRetry = { retryable: isTransientAwsError, attempts: 10, baseMs: 50, maxMs: 5_000 };

/** The snapshot's leading bytes: "Charlie row digests", format 1. */
const MAGIC = 'CRD1';
/** A snapshot entry: identity 16, digest 8, export time (ms, float64) 8, line 4, source index 4, complete 1. */
const ENTRY_BYTES = 41;
const KEY_BYTES = 16;
const CHECKSUM_BYTES = 32;

/** A rank of the form ingest forms (store.ts): complete, export time, source sha256, line. */
const rankForm = /^([01])\|(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{64})\|(\d{9})$/;
const digestForm = /^[0-9a-f]{16}$/;

/** A row's place in the snapshot: 128 bits of the SHA-1 of its table key. */
function identityKey(pk: string, sk: string): Buffer {
  return hash('sha1', `${pk}\n${sk}`, 'buffer').subarray(0, KEY_BYTES);
}

interface SnapshotHeader {
  date: string;
  type: string;
  generation: string;
  /** Source files' sha256, indexed by the entries. */
  sources: string[];
  entries: number;
  /** Entries whose rank or digest is of another form (rows stored by earlier formats), kept as text: [key hex, rank, digest]. */
  odd: [string, string, string][];
}

class SnapshotCorrupt extends CharlieError {
  override name = 'SnapshotCorrupt';
}

/**
 * What is stored for one day and type, in memory: the snapshot's entries, sorted by identity
 * key and searched in place, and the changes this ingest made, merged in when it is written.
 */
export class DaySnapshot {
  /** This ingest's changes by identity key (16 bytes as latin1 text). */
  private readonly changes = new Map<string, Stored>();
  private readonly sourceIndex: Map<string, number>;
  /** Export instants already formed as text, by epoch ms: a file's rows share one. */
  private readonly instants = new Map<number, string>();

  private constructor(
    readonly date: string,
    readonly type: string,
    private readonly sources: string[],
    private readonly entries: Buffer,
    private readonly odd: Map<string, Stored>,
  ) {
    this.sourceIndex = new Map(sources.map((source, i) => [source, i]));
  }

  static empty(date: string, type: string): DaySnapshot {
    return new DaySnapshot(date, type, [], Buffer.alloc(0), new Map());
  }

  /** Reads a snapshot's bytes; throws SnapshotCorrupt unless they are whole, of this day and type. */
  static decode(bytes: Uint8Array, date: string, type: string): { snapshot: DaySnapshot; generation: string } {
    let plain: Buffer;
    try {
      plain = gunzipSync(bytes);
    } catch (error) {
      throw new SnapshotCorrupt(`not gzip: ${(error as Error).message}`);
    }
    if (plain.length < MAGIC.length + 4 + CHECKSUM_BYTES) throw new SnapshotCorrupt(`${plain.length} bytes: truncated`);
    const body = plain.subarray(0, plain.length - CHECKSUM_BYTES);
    if (!hash('sha256', body, 'buffer').equals(plain.subarray(body.length))) {
      throw new SnapshotCorrupt('checksum mismatch');
    }
    if (body.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new SnapshotCorrupt('not a row digest snapshot');
    const headerBytes = body.readUInt32LE(MAGIC.length);
    const headerEnd = MAGIC.length + 4 + headerBytes;
    let header: SnapshotHeader;
    try {
      header = JSON.parse(body.toString('utf8', MAGIC.length + 4, headerEnd)) as SnapshotHeader;
    } catch {
      throw new SnapshotCorrupt('unreadable header');
    }
    if (header.date !== date || header.type !== type) {
      throw new SnapshotCorrupt(`holds ${header.type} of ${header.date}`);
    }
    const entries = body.subarray(headerEnd);
    if (entries.length !== header.entries * ENTRY_BYTES) {
      throw new SnapshotCorrupt(`${entries.length} bytes of entries for ${header.entries}`);
    }
    const odd = new Map(
      header.odd.map(([key, rank, digest]) => [Buffer.from(key, 'hex').toString('latin1'), { rank, digest }]),
    );
    return { snapshot: new DaySnapshot(date, type, header.sources, entries, odd), generation: header.generation };
  }

  /** What is stored for a row's key, or undefined when nothing is. */
  get(pk: string, sk: string): Stored | undefined {
    const key = identityKey(pk, sk);
    const text = key.toString('latin1');
    const changed = this.changes.get(text);
    if (changed) return changed;
    const at = this.find(key);
    return at === undefined ? this.odd.get(text) : this.entryAt(at);
  }

  /** What is now stored for a row's key: the version this ingest wrote. */
  set(pk: string, sk: string, stored: Stored): void {
    this.changes.set(identityKey(pk, sk).toString('latin1'), stored);
  }

  get size(): number {
    return this.entries.length / ENTRY_BYTES + this.odd.size + this.changes.size;
  }

  /** The snapshot with this ingest's changes, gzipped, carrying `generation`. */
  encode(generation: string): Buffer {
    const changed = [...this.changes.keys()].sort();
    const odd = new Map(this.odd);
    const merged = Buffer.alloc(this.entries.length + changed.length * ENTRY_BYTES);
    let length = 0;
    let next = 0;
    const take = (text: string) => {
      const stored = this.changes.get(text) as Stored;
      odd.delete(text);
      if (this.encodeEntry(Buffer.from(text, 'latin1'), stored, merged, length)) length += ENTRY_BYTES;
      else odd.set(text, stored);
    };
    for (let at = 0; at < this.entries.length; at += ENTRY_BYTES) {
      const key = this.entries.toString('latin1', at, at + KEY_BYTES);
      while (next < changed.length && (changed[next] as string) < key) take(changed[next++] as string);
      if (changed[next] === key) {
        take(changed[next++] as string);
        continue;
      }
      this.entries.copy(merged, length, at, at + ENTRY_BYTES);
      length += ENTRY_BYTES;
    }
    while (next < changed.length) take(changed[next++] as string);
    const header: SnapshotHeader = {
      date: this.date,
      type: this.type,
      generation,
      sources: this.sources,
      entries: length / ENTRY_BYTES,
      odd: [...odd].map(([key, stored]) => [Buffer.from(key, 'latin1').toString('hex'), stored.rank, stored.digest]),
    };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const lead = Buffer.alloc(MAGIC.length + 4);
    lead.write(MAGIC, 'latin1');
    lead.writeUInt32LE(headerBytes.length, MAGIC.length);
    const body = Buffer.concat([lead, headerBytes, merged.subarray(0, length)]);
    return gzipSync(Buffer.concat([body, hash('sha256', body, 'buffer')]));
  }

  /** Writes an entry at `offset`; false when its rank or digest is not of the forms ingest makes now. */
  private encodeEntry(key: Buffer, stored: Stored, into: Buffer, offset: number): boolean {
    const rank = rankForm.exec(stored.rank);
    if (!rank || !digestForm.test(stored.digest)) return false;
    const [, complete, instant, source, line] = rank as unknown as [string, string, string, string, string];
    const ms = Date.parse(instant);
    if (new Date(ms).toISOString() !== instant) return false;
    let index = this.sourceIndex.get(source);
    if (index === undefined) {
      index = this.sources.push(source) - 1;
      this.sourceIndex.set(source, index);
    }
    key.copy(into, offset);
    into.write(stored.digest, offset + KEY_BYTES, 'hex');
    into.writeDoubleLE(ms, offset + 24);
    into.writeUInt32LE(Number(line), offset + 32);
    into.writeUInt32LE(index, offset + 36);
    into.writeUInt8(Number(complete), offset + 40);
    return true;
  }

  /** The offset of a key's entry (binary search), or undefined. */
  private find(key: Buffer): number | undefined {
    let low = 0;
    let high = this.entries.length / ENTRY_BYTES - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const at = middle * ENTRY_BYTES;
      const order = key.compare(this.entries, at, at + KEY_BYTES);
      if (order === 0) return at;
      if (order < 0) high = middle - 1;
      else low = middle + 1;
    }
    return undefined;
  }

  private entryAt(at: number): Stored {
    const ms = this.entries.readDoubleLE(at + 24);
    let instant = this.instants.get(ms);
    if (instant === undefined) {
      instant = new Date(ms).toISOString();
      this.instants.set(ms, instant);
    }
    const line = String(this.entries.readUInt32LE(at + 32)).padStart(9, '0');
    const source = this.sources[this.entries.readUInt32LE(at + 36)];
    return {
      rank: `${this.entries[at + 40]}|${instant}|${source}|${line}`,
      digest: this.entries.toString('hex', at + KEY_BYTES, at + 24),
    };
  }
}

/** One day and type as this ingest holds it: its snapshot, and the generations before and after. */
interface HeldDay {
  snapshot: DaySnapshot;
  /** The generation the table recorded when the day was loaded (none for a day never given one). */
  generation: string | undefined;
  /** The generation this ingest gave the table, once it has. */
  renewed?: Promise<string>;
  /** Rebuilt from the table: written back even if no row of it changes. */
  rebuilt: boolean;
}

/**
 * The row digests of the days and types one ingest writes: each loaded under its lease before
 * any of its rows is decided, and written back, under the lease still, once every row is stored.
 */
export class RowDigests {
  private readonly days = new Map<string, HeldDay>();
  /** DynamoDB items read: the generation of each day, and the rows of a rebuild. */
  reads = 0;

  constructor(private readonly deps: RowDigestDeps) {}

  /** Loads a day's snapshot, or rebuilds it from the table when it cannot be trusted; the lease must be held. */
  async load(date: string, type: string): Promise<void> {
    const id = dayId(date, type);
    if (this.days.has(id)) return;
    const [generation, bytes] = await Promise.all([this.generation(date, type), this.readSnapshot(date, type)]);
    this.reads++;
    let problem: string | undefined;
    let snapshot: DaySnapshot | undefined;
    if (this.deps.clock() >= dayExpiry(date, this.deps.keepDays)) problem = 'the rows are past their expiry';
    else if (generation === undefined) problem = 'the table records no generation';
    else if (bytes === undefined) problem = 'the snapshot is missing';
    else {
      try {
        const decoded = DaySnapshot.decode(bytes, date, type);
        if (decoded.generation === generation) snapshot = decoded.snapshot;
        else problem = `the snapshot is of generation ${decoded.generation}, the table's is ${generation}`;
      } catch (error) {
        // Decoding does no I/O: whatever fails in it is the bytes'.
        problem = `the snapshot is corrupt: ${(error as Error).message}`;
      }
    }
    if (snapshot) {
      this.days.set(id, { snapshot, generation, rebuilt: false });
      return;
    }
    // Neither generation nor snapshot: nothing recorded yet for the day and type (its first ingest,
    // or a day stored before digests were on), so nothing to distrust; the rebuild reads what is there.
    if (generation === undefined && bytes === undefined) logger.info('row digests started for the day', { date, type });
    else logger.warn('row digests rebuilt from the table', { date, type, reason: problem });
    this.days.set(id, { snapshot: await this.rebuild(date, type), generation, rebuilt: true });
  }

  /** What is stored for a row, by its day's snapshot (loaded). */
  get(row: { date: string; type: string; pk: string; sk: string }): Stored | undefined {
    return this.day(row.date, row.type).snapshot.get(row.pk, row.sk);
  }

  /** A version about to be written: what is stored for its key once it is. */
  set(row: { date: string; type: string; pk: string; sk: string } & Stored): void {
    this.day(row.date, row.type).snapshot.set(row.pk, row.sk, { rank: row.rank, digest: row.digest });
  }

  /**
   * Gives the table a new generation for the day, once, before the first row of it is written:
   * a snapshot written before stops matching, so that an ingest stopped before writing its own
   * leaves no snapshot that misses its rows. Conditional on the generation loaded: another
   * writer changing it while the lease is held fails the file, to be retried.
   */
  beforeWrite(date: string, type: string): Promise<string> {
    const day = this.day(date, type);
    day.renewed ??= this.renew(date, type, day.generation);
    return day.renewed;
  }

  /**
   * Writes back the snapshot of each day whose rows changed, or that was rebuilt, with the
   * generation given to the table: after every row write has landed and before the leases
   * are released. A failure is logged: the table's generation has moved on, so the next ingest
   * rebuilds the snapshot.
   */
  async save(leases: Leases): Promise<void> {
    for (const day of this.days.values()) {
      if (!day.renewed && !day.rebuilt) continue;
      const { date, type } = day.snapshot;
      try {
        const generation = await this.beforeWrite(date, type);
        const body = day.snapshot.encode(generation);
        leases.assertWritable();
        await retry(
          () =>
            this.deps.s3.send(
              new PutObjectCommand({
                Bucket: this.deps.bucket,
                Key: rowDigestsKey(date, type),
                Body: body,
                ContentType: 'application/gzip',
              }),
            ),
          { ...transientRetry, ...this.deps.backoff },
        );
      } catch (error) {
        logger.warn('row digests not saved: the next ingest rebuilds them', { date, type, error: error as Error });
      }
    }
  }

  private day(date: string, type: string): HeldDay {
    const day = this.days.get(dayId(date, type));
    if (!day) throw new Error(`row digests of ${type} ${date} are not loaded`);
    return day;
  }

  private async generation(date: string, type: string): Promise<string | undefined> {
    const answer = await retry(
      () =>
        this.deps.dynamodb.send(
          new GetCommand({ TableName: this.deps.table, Key: digestGenerationKey(date, type), ConsistentRead: true }),
        ),
      { ...transientRetry, ...this.deps.backoff },
    );
    const generation = answer.Item?.generation;
    return typeof generation === 'string' ? generation : undefined;
  }

  private async readSnapshot(date: string, type: string): Promise<Uint8Array | undefined> {
    try {
      const object = await retry(
        () => this.deps.s3.send(new GetObjectCommand({ Bucket: this.deps.bucket, Key: rowDigestsKey(date, type) })),
        { ...transientRetry, ...this.deps.backoff },
      );
      return await object.Body?.transformToByteArray();
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((error as Error).name === 'NoSuchKey' || status === 404) return undefined;
      throw error;
    }
  }

  /** The day's snapshot from a consistent Query of each of its partitions: what is stored now. */
  private async rebuild(date: string, type: string): Promise<DaySnapshot> {
    const snapshot = DaySnapshot.empty(date, type);
    const shards = Array.from({ length: this.deps.shards }, (_, shard) => rowPartition(date, type, shard));
    await Promise.all(
      shards.map((pk) =>
        retry(
          async () => {
            const found: { pk: string; sk: string; stored: Stored }[] = [];
            let read = 0;
            const pages = paginateQuery(
              { client: this.deps.dynamodb },
              {
                TableName: this.deps.table,
                KeyConditionExpression: '#pk = :pk',
                ExpressionAttributeNames: { '#pk': TABLE_KEY.partition, '#sk': TABLE_KEY.sort, '#rank': 'rank' },
                ExpressionAttributeValues: { ':pk': pk },
                ProjectionExpression: '#pk, #sk, #rank, digest',
                ConsistentRead: true,
              },
            );
            for await (const page of pages) {
              read += page.ScannedCount ?? 0;
              for (const item of page.Items ?? []) {
                found.push({
                  pk: String(item.pk),
                  sk: String(item.sk),
                  stored: { rank: String(item.rank), digest: String(item.digest) },
                });
              }
            }
            // Counted and kept once the partition is read whole: a retried partition is read again from its start.
            this.reads += read;
            for (const row of found) snapshot.set(row.pk, row.sk, row.stored);
          },
          { ...transientRetry, ...this.deps.backoff },
        ),
      ),
    );
    return snapshot;
  }

  private async renew(date: string, type: string, current: string | undefined): Promise<string> {
    const generation = randomUUID();
    try {
      await writeGeneration(this.deps, date, type, generation, { current });
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      throw new TransientError(`the row digests of ${type} ${date} changed under this ingest's lease`);
    }
    return generation;
  }
}

/**
 * Gives the table a new generation for a day's rows of one type, whatever it was: undo calls
 * it under the lease before it deletes a row, so that no snapshot written before is trusted again.
 */
export function retireRowDigests(
  deps: Pick<RowDigestDeps, 'dynamodb' | 'table' | 'keepDays' | 'backoff'>,
  date: string,
  type: string,
): Promise<void> {
  return writeGeneration(deps, date, type, randomUUID());
}

/** Records a day's generation; with `expected`, only over that one (`current` undefined: over none). */
async function writeGeneration(
  deps: Pick<RowDigestDeps, 'dynamodb' | 'table' | 'keepDays' | 'backoff'>,
  date: string,
  type: string,
  generation: string,
  expected?: { current: string | undefined },
): Promise<void> {
  const condition =
    expected === undefined
      ? {}
      : expected.current === undefined
        ? { ConditionExpression: 'attribute_not_exists(#generation)' }
        : { ConditionExpression: '#generation = :current' };
  await retry(
    () =>
      deps.dynamodb.send(
        new UpdateCommand({
          TableName: deps.table,
          Key: digestGenerationKey(date, type),
          UpdateExpression: 'SET #generation = :next, expiresAt = :expiresAt',
          ...condition,
          ExpressionAttributeNames: { '#generation': 'generation' },
          ExpressionAttributeValues: {
            ':next': generation,
            // Deleted by TTL with the day's rows, never before them.
            ':expiresAt': dayExpiry(date, deps.keepDays) / 1000,
            ...(expected?.current === undefined ? {} : { ':current': expected.current }),
          },
        }),
      ),
    { ...transientRetry, ...deps.backoff },
  );
}

function dayId(date: string, type: string): string {
  return `${date}\u0000${type}`;
}

/** When the day's rows expire (epoch ms): `keepDays` after the business date, as ingest sets their TTL. */
function dayExpiry(date: string, keepDays: number): number {
  return Date.parse(`${date}T00:00:00Z`) + keepDays * 86_400_000;
}
