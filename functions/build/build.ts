import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { Upload } from '@aws-sdk/lib-storage';
import type { Resources } from '../shared/clients.ts';
import type { Config, ExportSpec } from '../shared/config.ts';
import { addCounts, type BuildInput, type BuildResult, emptyCounts, type TypeSummary } from '../shared/contracts.ts';
import { reportKey, rowPartition, TABLE_KEY, workbookName } from '../shared/keys.ts';
import { logger } from '../shared/observability.ts';
import { isTransientAwsError, retry } from '../shared/retry.ts';
import type { StoredRow } from '../shared/rows.ts';
import { type RowValues, workbookColumns, writeWorkbook } from './workbook.ts';

export interface BuildDeps {
  config: Config;
  s3: S3Client;
  dynamodb: DynamoDBDocumentClient;
  resources: Resources;
  now?: () => Date;
}

export const workbookContentType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The day's rows changed while the workbook was written (an ingest ran meanwhile). */
export class RowsChangedError extends Error {
  override name = 'RowsChangedError';
}

/**
 * Writes the day's workbook from the rows in DynamoDB and uploads it to the reports bucket.
 * The Summary tab comes first, so the day's row counts are taken (a light pass reading only
 * `exportedAt`) before the rows are read again, one type at a time, into their tabs.
 */
export async function buildReport(input: BuildInput, deps: BuildDeps): Promise<BuildResult> {
  const { resources } = deps;
  const { run } = input;
  const now = deps.now ?? (() => new Date());

  const dir = await mkdtemp(join(tmpdir(), 'charlie-build-'));
  const path = join(dir, workbookName(run.date));
  try {
    // A changed count means an ingest wrote rows for this day meanwhile: start over, so the
    // Summary tab always agrees with the tabs.
    const types = await retry(() => writeDay(input, deps, path, now()), {
      attempts: 3,
      retryable: (error) => error instanceof RowsChangedError,
    });
    const { size: bytes } = await stat(path);
    const key = reportKey(run.date);
    // Upload sends the file in bounded parts (one PutObject when it is small), each with its checksum.
    await retry(
      () =>
        new Upload({
          client: deps.s3,
          params: {
            Bucket: resources.reportsBucket,
            Key: key,
            Body: createReadStream(path),
            ContentType: workbookContentType,
          },
        }).done(),
      { retryable: isTransientAwsError },
    );

    const totals = types.reduce((sum, t) => addCounts(sum, t.ingest), emptyCounts());
    const missing = types.filter((t) => t.rows === 0).map((t) => t.type);
    logger.info('workbook written', {
      date: run.date,
      executionId: run.executionId,
      key,
      bytes,
      rows: types.reduce((sum, t) => sum + t.rows, 0),
      missing,
    });
    return { workbook: { bucket: resources.reportsBucket, key, bytes }, types, totals, missing };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeDay(input: BuildInput, deps: BuildDeps, path: string, generatedAt: Date): Promise<TypeSummary[]> {
  const { config } = deps;
  const { run } = input;
  const types = await Promise.all(config.exports.map((spec) => summariseType(spec, input, deps)));
  const missing = types.filter((t) => t.rows === 0).map((t) => t.type);
  const written = await writeWorkbook(
    config,
    { date: run.date, executionId: run.executionId, generatedAt, types, missing },
    (spec) => readRows(spec, run.date, deps),
    path,
  );
  const changed = types.filter((t) => written[t.type] !== t.rows);
  if (changed.length > 0) {
    throw new RowsChangedError(
      `Rows of ${run.date} changed while the workbook was written: ${changed
        .map((t) => `${t.type} ${t.rows} → ${written[t.type]}`)
        .join(', ')}`,
    );
  }
  return types;
}

/** The type's rows of the day (count, latest export) and this run's ingest of it. */
async function summariseType(spec: ExportSpec, input: BuildInput, deps: BuildDeps): Promise<TypeSummary> {
  let rows = 0;
  let lastExportAt: string | undefined;
  let lastExportMs = Number.NEGATIVE_INFINITY;
  const items = queryShards(spec.type, input.run.date, deps, { ProjectionExpression: 'exportedAt' });
  for await (const item of items as AsyncIterable<Pick<StoredRow, 'exportedAt'>>) {
    rows++;
    const ms = Date.parse(item.exportedAt);
    if (ms > lastExportMs) {
      lastExportMs = ms;
      lastExportAt = item.exportedAt;
    }
  }
  const ingested = input.ingested.filter((result) => result.type === spec.type);
  return {
    type: spec.type,
    tab: spec.tab,
    rows,
    ...(lastExportAt ? { lastExportAt } : {}),
    ingest: ingested.reduce((sum, result) => addCounts(sum, result.counts), emptyCounts()),
    files: ingested.length,
  };
}

/** Only the columns the tab shows or sorts by are read. */
async function* readRows(spec: ExportSpec, date: string, deps: BuildDeps): AsyncGenerator<RowValues> {
  const needed = workbookColumns(spec);
  const names: Record<string, string> = { '#values': 'values' };
  needed.forEach((name, i) => {
    names[`#c${i}`] = name;
  });
  const items = queryShards(spec.type, date, deps, {
    ProjectionExpression: needed.map((_, i) => `#values.#c${i}`).join(', '),
    ExpressionAttributeNames: names,
  });
  for await (const item of items as AsyncIterable<Partial<Pick<StoredRow, 'values'>>>) yield item.values ?? {};
}

interface Projection {
  ProjectionExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
}

/** The items of every shard of a type and day, the shards queried in parallel, page by page. */
function queryShards(
  type: string,
  date: string,
  deps: BuildDeps,
  projection: Projection,
): AsyncIterable<Record<string, unknown>> {
  const shards = Array.from({ length: deps.config.storage.shards }, (_, shard) =>
    queryPartition(rowPartition(date, type, shard), deps, projection),
  );
  return merge(shards);
}

async function* queryPartition(
  pk: string,
  deps: BuildDeps,
  projection: Projection,
): AsyncGenerator<Record<string, unknown>[]> {
  let startKey: QueryCommandOutput['LastEvaluatedKey'];
  do {
    const page: QueryCommandOutput = await retry(
      () =>
        deps.dynamodb.send(
          new QueryCommand({
            TableName: deps.resources.table,
            KeyConditionExpression: `${TABLE_KEY.partition} = :pk`,
            ExpressionAttributeValues: { ':pk': pk },
            ...projection,
            ExclusiveStartKey: startKey,
          }),
        ),
      { retryable: isTransientAwsError },
    );
    yield page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** Items from several page sources as their pages arrive, with at most one page of each source in flight. */
async function* merge<T>(sources: AsyncGenerator<T[]>[]): AsyncGenerator<T> {
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T[]> }>>();
  const pull = (index: number) => {
    const source = sources[index];
    if (!source) return;
    const next = source.next().then((result) => ({ index, result }));
    // Once the consumer has stopped, nobody awaits this page: its failure must not be an unhandled rejection.
    next.catch(() => undefined);
    pending.set(index, next);
  };
  sources.forEach((_, index) => {
    pull(index);
  });
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      pending.delete(index);
      if (result.done) continue;
      pull(index);
      yield* result.value;
    }
  } finally {
    await Promise.allSettled(sources.map((source) => source.return(undefined)));
  }
}
