import { BatchGetCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { IngestInput, RemoveResult } from '../shared/contracts.ts';
import { exportSpec } from '../shared/exports.ts';
import { rowPartition, TABLE_KEY } from '../shared/keys.ts';
import { backoffDelay, isTransientAwsError, retry, sleep, TransientError } from '../shared/retry.ts';
import { parseCsv } from './csv.ts';
import { decodeChunks } from './decode.ts';
import { type IngestDeps, openDecoded } from './ingest.ts';
import { layoutHeader, RowReader } from './rows.ts';

type RowKey = {
  pk: string;
  sk: string;
};

/** BatchGetItem's limit. */
const batchSize = 100;

const transientRetry = { retryable: isTransientAwsError, attempts: 10, baseMs: 50, maxMs: 5_000 };

/**
 * Takes an undone file's rows out of the table: reads the file as ingest does (the same
 * parser and the same identities, so the same keys), and deletes each stored row whose
 * version came from this file. The delete is conditional on that lineage, so a version
 * another file stored in the meantime is left alone. The day's other files are ingested
 * next and put back the best version each of them holds: the row as it was before.
 */
export async function removeFileRows(input: IngestInput, deps: IngestDeps): Promise<RemoveResult> {
  const { file } = input;
  const spec = exportSpec(deps.config, file.type);
  const result: RemoveResult = { key: file.key, type: file.type, read: 0, removed: 0 };
  let reader: RowReader | undefined;
  let pending = new Map<string, RowKey>();
  for await (const batch of parseCsv(decodeChunks(...(await openDecoded(deps.s3, file.bucket, file.key))))) {
    for (const record of batch) {
      if (!reader) {
        const header = layoutHeader(record.cells, spec, deps.config);
        // A file rejected whole stored nothing, so there is nothing to take out.
        if ('rejected' in header) return result;
        reader = new RowReader(header.layout, deps.config.timeZone, deps.config.storage.shards);
        continue;
      }
      if (record.malformed) continue;
      const outcome = reader.read(record.cells);
      if (outcome.kind !== 'row') continue;
      result.read++;
      const key = { pk: rowPartition(outcome.row.date, file.type, outcome.row.shard), sk: outcome.row.sk };
      pending.set(`${key.pk}\u0000${key.sk}`, key);
      if (pending.size >= batchSize) {
        result.removed += await removeBatch([...pending.values()], file.key, deps);
        pending = new Map();
      }
    }
  }
  if (pending.size > 0) result.removed += await removeBatch([...pending.values()], file.key, deps);
  return result;
}

/** Deletes the rows among these keys whose stored version came from the source file; returns how many. */
async function removeBatch(keys: RowKey[], sourceKey: string, deps: IngestDeps): Promise<number> {
  const table = deps.resources.table;
  const backoff = deps.store?.backoff ?? {};
  const ours: RowKey[] = [];
  let unread: Record<string, unknown>[] = keys;
  for (let round = 1; unread.length > 0; round++) {
    if (round > 15) throw new TransientError(`DynamoDB left ${unread.length} keys unread after ${round - 1} attempts`);
    const request = new BatchGetCommand({
      RequestItems: {
        [table]: {
          Keys: unread,
          ConsistentRead: true,
          ProjectionExpression: '#pk, #sk, #source.#key',
          ExpressionAttributeNames: {
            '#pk': TABLE_KEY.partition,
            '#sk': TABLE_KEY.sort,
            '#source': 'source',
            '#key': 'key',
          },
        },
      },
    });
    const answer = await retry(() => deps.dynamodb.send(request), { ...transientRetry, ...backoff });
    for (const item of answer.Responses?.[table] ?? []) {
      if ((item.source as { key?: string } | undefined)?.key === sourceKey) {
        ours.push({ pk: String(item.pk), sk: String(item.sk) });
      }
    }
    unread = answer.UnprocessedKeys?.[table]?.Keys ?? [];
    if (unread.length > 0) await (backoff.sleep ?? sleep)(backoffDelay(round - 1, 50, 5_000, backoff.random));
  }
  let removed = 0;
  for (const key of ours) {
    try {
      await retry(
        () =>
          deps.dynamodb.send(
            new DeleteCommand({
              TableName: table,
              Key: key,
              ConditionExpression: '#source.#key = :key',
              ExpressionAttributeNames: { '#source': 'source', '#key': 'key' },
              ExpressionAttributeValues: { ':key': sourceKey },
            }),
          ),
        { ...transientRetry, ...backoff },
      );
      removed++;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
  return removed;
}
