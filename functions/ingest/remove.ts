import { BatchGetCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { IngestInput, RemoveResult } from '../common/contracts.ts';
import { exportSpec } from '../common/exports.ts';
import { rowPartition, TABLE_KEY } from '../common/keys.ts';
import { backoffDelay, isTransientAwsError, retry, sleep, TransientError } from '../common/retry.ts';
import { CsvParser, type CsvRecord, parseCsv, readAhead } from './csv.ts';
import { decodeChunks } from './decode.ts';
import { retireRowDigests } from './digests.ts';
import { fileRowReader, type IngestDeps, openDecoded } from './ingest.ts';
import { type Leases, withLeases } from './lease.ts';
import { decimalSampleRows, layoutHeader, type RowOutcome, type RowReader } from './rows.ts';

interface RowKey {
  pk: string;
  sk: string;
  /** The row's business date: the lease it is deleted under. */
  date: string;
}

/** BatchGetItem's limit. */
const batchSize = 100;

const transientRetry = { retryable: isTransientAwsError, attempts: 10, baseMs: 50, maxMs: 5_000 };

/**
 * Takes an undone file's rows out of the table: reads the file as ingest does (the same
 * parser and the same identities, so the same keys), and deletes each stored row whose
 * version came from this file, holding the lease of the row's day and type as ingest does
 * (lease.ts), so that no ingest decides on a row while it goes. The delete is also
 * conditional on that lineage. The day's other files are ingested next and put back the
 * best version each of them holds: the row as it was before. With row digests, each day's
 * generation is renewed before its first delete: the snapshot, which still lists the rows,
 * is rebuilt from the table by the next ingest.
 */
export async function removeFileRows(input: IngestInput, deps: IngestDeps): Promise<RemoveResult> {
  const { file } = input;
  const spec = exportSpec(deps.config, file.type);
  const result: RemoveResult = { key: file.key, type: file.type, read: 0, removed: 0 };
  const table = deps.resources.table;
  const retired = new Set<string>();
  return withLeases({ dynamodb: deps.dynamodb, table, heldFor: file.key, ...deps.lease }, async (leases) => {
    const flush = async (keys: Map<string, RowKey>) => {
      for (const key of keys.values()) {
        await leases.hold(key.date, file.type);
        if (deps.config.rowDigests.enabled && !retired.has(key.date)) {
          await retireRowDigests(
            { dynamodb: deps.dynamodb, table, keepDays: deps.config.storage.keepDays, ...deps.store },
            key.date,
            file.type,
          );
          retired.add(key.date);
        }
      }
      result.removed += await removeBatch([...keys.values()], file.key, deps, leases);
    };
    let pending = new Map<string, RowKey>();
    const source = await openDecoded(deps.s3, file.bucket, file.key);
    const parser = new CsvParser();
    const batches = parseCsv(decodeChunks(source.chunks, source.encoding), parser);
    const records = await readAhead(batches, 1 + decimalSampleRows);
    const header = records.shift();
    const layout = header ? layoutHeader(header.cells, spec, deps.config) : undefined;
    // A file rejected whole stored nothing, so there is nothing to take out.
    if (!layout || 'rejected' in layout) return result;
    const reader = fileRowReader(input, deps.config, layout.layout, parser.delimiter, records);
    const take = async (batch: readonly CsvRecord[]) => {
      for (const record of batch) {
        if (record.malformed) continue;
        const outcome = readRow(reader, record.cells);
        if (outcome.kind !== 'row') continue;
        result.read++;
        const { date, shard, sk } = outcome.row;
        const pk = rowPartition(date, file.type, shard);
        pending.set(`${pk}\u0000${sk}`, { pk, sk, date });
        if (pending.size >= batchSize) {
          await flush(pending);
          pending = new Map();
        }
      }
    };
    await take(records);
    for await (const batch of batches) await take(batch);
    if (pending.size > 0) await flush(pending);
    return result;
  });
}

/** A row as ingest read it: one whose reading throws was rejected there, so nothing of it is stored. */
function readRow(reader: RowReader, cells: readonly string[]): RowOutcome {
  try {
    return reader.read(cells);
  } catch (error) {
    return { kind: 'rejected', reason: (error as Error).message };
  }
}

/** Deletes the rows among these keys whose stored version came from the source file; returns how many. */
async function removeBatch(keys: RowKey[], sourceKey: string, deps: IngestDeps, leases: Leases): Promise<number> {
  const table = deps.resources.table;
  const backoff = deps.store?.backoff ?? {};
  const ours: Record<string, unknown>[] = [];
  let unread: Record<string, unknown>[] = keys.map(({ pk, sk }) => ({ pk, sk }));
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
      if ((item.source as { key?: string } | undefined)?.key === sourceKey) ours.push({ pk: item.pk, sk: item.sk });
    }
    unread = answer.UnprocessedKeys?.[table]?.Keys ?? [];
    if (unread.length > 0) await (backoff.sleep ?? sleep)(backoffDelay(round - 1, 50, 5_000, backoff.random));
  }
  let removed = 0;
  for (const key of ours) {
    leases.assertWritable();
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
