import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEY } from '../shared/keys.ts';
import { backoffDelay, isTransientAwsError, retry, sleep } from '../shared/retry.ts';
import type { StoredRow } from '../shared/rows.ts';

/** A row ready to store: its item, and its rank among versions of the same identity. */
export type RowVersion = StoredRow & { rank: string };

export type StoreOutcome = 'inserted' | 'updated' | 'unchanged' | 'stale';

/**
 * The order of versions of one identity: a complete row beats a partial one, then the
 * newer export wins; the source file and line only break exact ties, so that any order of
 * ingest ends with the same row.
 */
export function versionRank(complete: boolean, exportedAt: string, sha256: string, line: number): string {
  return `${complete ? 1 : 0}|${new Date(exportedAt).toISOString()}|${sha256}|${String(line).padStart(9, '0')}`;
}

interface Existing {
  rank: string;
  digest: string;
}

export function classify(row: RowVersion, existing: Existing | undefined): StoreOutcome {
  if (!existing) return 'inserted';
  if (existing.digest === row.digest) return 'unchanged';
  return existing.rank < row.rank ? 'updated' : 'stale';
}

export interface RowStore {
  dynamodb: DynamoDBDocumentClient;
  table: string;
  /** Conditional writes in flight at once. */
  concurrency?: number;
}

const retryOptions = { retryable: isTransientAwsError, attempts: 10, baseMs: 50, maxMs: 5_000 };

/**
 * Stores up to 100 versions (distinct keys): reads what is stored, then writes only new and
 * newer versions, each conditional on what it replaces, so concurrent or out-of-order
 * ingests of the same identity can never let an older version overwrite a newer one.
 */
export async function storeBatch(rows: RowVersion[], store: RowStore): Promise<StoreOutcome[]> {
  const existing = await readVersions(rows, store);
  const outcomes: StoreOutcome[] = new Array(rows.length);
  const writes: number[] = [];
  rows.forEach((row, i) => {
    const outcome = classify(row, existing.get(keyOf(row)));
    outcomes[i] = outcome;
    if (outcome === 'inserted' || outcome === 'updated') writes.push(i);
  });
  await pool(writes, store.concurrency ?? 16, async (i) => {
    outcomes[i] = await writeVersion(rows[i] as RowVersion, existing.get(keyOf(rows[i] as RowVersion)), store);
  });
  return outcomes;
}

function keyOf(row: Pick<StoredRow, 'pk' | 'sk'>): string {
  return `${row.pk}\u0000${row.sk}`;
}

async function readVersions(rows: RowVersion[], store: RowStore): Promise<Map<string, Existing>> {
  const found = new Map<string, Existing>();
  let keys: Record<string, unknown>[] = rows.map((row) => ({ pk: row.pk, sk: row.sk }));
  for (let attempt = 0; keys.length > 0; attempt++) {
    const result = await retry(
      () =>
        store.dynamodb.send(
          new BatchGetCommand({
            RequestItems: {
              [store.table]: {
                Keys: keys,
                ConsistentRead: true,
                ProjectionExpression: '#pk, #sk, #rank, digest',
                ExpressionAttributeNames: { '#pk': TABLE_KEY.partition, '#sk': TABLE_KEY.sort, '#rank': 'rank' },
              },
            },
          }),
        ),
      retryOptions,
    );
    for (const item of result.Responses?.[store.table] ?? []) {
      found.set(keyOf(item as StoredRow), { rank: String(item.rank), digest: String(item.digest) });
    }
    keys = result.UnprocessedKeys?.[store.table]?.Keys ?? [];
    if (keys.length > 0) {
      if (attempt >= 20) throw new Error(`DynamoDB left ${keys.length} keys unread after ${attempt + 1} attempts`);
      await sleep(backoffDelay(attempt, 50, 5_000));
    }
  }
  return found;
}

async function writeVersion(row: RowVersion, known: Existing | undefined, store: RowStore): Promise<StoreOutcome> {
  let existing = known;
  for (let attempt = 0; ; attempt++) {
    const outcome = classify(row, existing);
    if (outcome === 'unchanged' || outcome === 'stale') return outcome;
    try {
      await retry(
        () =>
          store.dynamodb.send(
            new PutCommand({
              TableName: store.table,
              Item: row,
              ...(outcome === 'inserted'
                ? {
                    ConditionExpression: 'attribute_not_exists(#pk)',
                    ExpressionAttributeNames: { '#pk': TABLE_KEY.partition },
                  }
                : {
                    ConditionExpression: '#rank < :rank',
                    ExpressionAttributeNames: { '#rank': 'rank' },
                    ExpressionAttributeValues: { ':rank': row.rank },
                  }),
            }),
          ),
        retryOptions,
      );
      return outcome;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException' || attempt >= 5) throw error;
      // Another ingest wrote this identity meanwhile: look again and decide again.
      const current = await retry(
        () =>
          store.dynamodb.send(
            new GetCommand({ TableName: store.table, Key: { pk: row.pk, sk: row.sk }, ConsistentRead: true }),
          ),
        retryOptions,
      );
      existing = current.Item ? { rank: String(current.Item.rank), digest: String(current.Item.digest) } : undefined;
    }
  }
}

async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
