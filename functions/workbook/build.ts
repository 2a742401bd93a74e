import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { Upload } from '@aws-sdk/lib-storage';
import type { Resources } from '../common/clients.ts';
import type { Config, ExportSpec } from '../common/config.ts';
import {
  addCounts,
  type BuildInput,
  type BuildOutput,
  emptyCounts,
  type IngestResult,
  type QuarantineSummary,
  type RemoveResult,
  type SourceFile,
  type UndoneSummary,
} from '../common/contracts.ts';
import { recordDayBuilt } from '../common/day-status.ts';
import { agentTable, dayViewRejectedRows, writeDayView } from '../common/day-view.ts';
import { reportKey, rowPartition, workbookName } from '../common/keys.ts';
import { TABLE_KEY } from '../common/names.ts';
import { logger } from '../common/observability.ts';
import { listQuarantined, type QuarantineRecord } from '../common/quarantine.ts';
import { isTransientAwsError, retry } from '../common/retry.ts';
import type { StoredRow } from '../common/rows.ts';
import { readManifest, readRunResults } from '../common/run-records.ts';
import { mergeInOrder } from './merge.ts';
import { problemsSummary, readRunProblems } from './problems.ts';
import { agentColumn, type SourceRow } from './stats.ts';
import { type WorkbookOptions, workbookColumns, writeWorkbook } from './workbook.ts';

export interface BuildDeps {
  config: Config;
  s3: S3Client;
  dynamodb: DynamoDBDocumentClient;
  resources: Resources;
  now?: () => Date;
  workbook?: WorkbookOptions;
}

export const workbookContentType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** Undone files named in the result; the others are counted. */
const maxUndoneListed = 10;

/** What the build reads of a stored row. */
type ReadRow = Pick<StoredRow, 'sk' | 'exportedAt' | 'values'>;

/**
 * Writes the day's workbook from the rows in DynamoDB and uploads it to the reports bucket.
 * Each export type is read once, its shards in parallel page by page, merged in workbook
 * order as the pages arrive and written as they are merged: memory does not grow with the day.
 */
export async function buildReport(input: BuildInput, deps: BuildDeps): Promise<BuildOutput> {
  const { config, resources } = deps;
  const { run } = input;
  const now = deps.now ?? (() => new Date());
  const { ingested, removed, files } = await readResults(input, deps);
  const [problems, quarantined] = await Promise.all([
    readRunProblems(deps.s3, resources.dataBucket, ingested, files, input.mail.ignored),
    listQuarantined(deps.s3, resources.dataBucket, run.date),
  ]);

  const dir = await mkdtemp(join(tmpdir(), 'charlie-build-'));
  const path = join(dir, workbookName(run.date, run.intradayTime));
  try {
    const day = await writeWorkbook(
      config,
      { run, ingested, mail: input.mail, generatedAt: now(), problems: { run: problems, quarantined }, files },
      (spec) => readRows(spec, run.date, deps),
      path,
      deps.workbook,
    );
    const { size: bytes } = await stat(path);
    const key = reportKey(run.date, run.intradayTime);
    // Upload sends the file in bounded parts (one PutObject when it is small), each with its
    // checksum; the S3 client tries each request SDK_ATTEMPTS times.
    await new Upload({
      client: deps.s3,
      params: {
        Bucket: resources.reportsBucket,
        Key: key,
        Body: createReadStream(path),
        ContentType: workbookContentType,
      },
    }).done();

    const totals = day.types.reduce((sum, t) => addCounts(sum, t.ingest), emptyCounts());
    logger.info('workbook written', {
      date: run.date,
      executionId: run.executionId,
      key,
      bytes,
      rows: day.types.reduce((sum, t) => sum + t.rows, 0),
      missing: day.missing,
      late: day.late,
      rejectedFiles: problems.rejectedFiles.length,
      rejectedRows: problems.rowCount,
    });
    const summary = problemsSummary(problems);
    // Per-agent figures stay in the workbook: the state payload carries no agent names.
    const output: BuildOutput = {
      workbook: { bucket: resources.reportsBucket, key, bytes },
      types: day.types,
      totals,
      missing: day.missing,
      late: day.late,
      hourly: day.hourly,
      kpis: day.kpis,
      ...(summary ? { problems: summary } : {}),
      ...(day.alerts ? { alerts: day.alerts } : {}),
      files: ingested.length,
      undone: undoneSummary(removed),
      quarantined: quarantineSummary(quarantined),
    };
    await writeDayView(deps.s3, resources.dataBucket, {
      date: run.date,
      executionId: run.executionId,
      builtAt: now().toISOString(),
      ...(run.intradayTime ? { intradayTime: run.intradayTime } : {}),
      types: day.types,
      missing: day.missing,
      late: day.late,
      hourly: day.hourly,
      kpis: day.kpis,
      agents: agentTable(day.agents),
      rejectedRows: problems.rows
        .slice(0, dayViewRejectedRows)
        .map((row) => ({ rawKey: row.file, type: row.type, line: row.line, reason: row.reason })),
      rejectedRowsTotal: problems.rowCount,
      rejectedFiles: problems.rejectedFiles.map((file) => ({ rawKey: file.key, type: file.type, reason: file.reason })),
      ...(day.alerts ? { alerts: day.alerts } : {}),
    });
    await recordDayBuilt(deps.dynamodb, resources.table, {
      date: run.date,
      executionId: run.executionId,
      intraday: run.intradayTime !== undefined,
      at: now(),
      report: output,
    });
    return output;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The results the run's ingests stored, one per manifest entry: every entry must have one, or
 * the counts would silently leave a file out.
 */
async function readResults(
  input: BuildInput,
  deps: BuildDeps,
): Promise<{ ingested: IngestResult[]; removed: RemoveResult[]; files: SourceFile[] }> {
  const bucket = input.manifest.bucket;
  const [manifest, ingested, removed] = await Promise.all([
    readManifest(deps.s3, input.manifest),
    readRunResults<IngestResult>(deps.s3, bucket, input.run, 'ingested'),
    readRunResults<RemoveResult>(deps.s3, bucket, input.run, 'removed'),
  ]);
  if (ingested.length !== manifest.files.length || removed.length !== manifest.undone.length) {
    throw new Error(
      `The run's results are incomplete: ${ingested.length} of ${manifest.files.length} files ingested, ` +
        `${removed.length} of ${manifest.undone.length} undone files taken out (under s3://${bucket}/${input.manifest.key})`,
    );
  }
  return { ingested, removed, files: manifest.files };
}

/** Quarantined inputs named in the result (with their reasons cut short); the others are counted. */
const maxQuarantinedListed = 10;

function quarantineSummary(records: QuarantineRecord[]): QuarantineSummary {
  const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
  return {
    count: records.length,
    listed: records.slice(0, maxQuarantinedListed).map(({ source, stage, reason }) => ({
      // A source id is a raw key, `message:<sha256>`, `graph:<id>:<changeKey>` or an inbox key and its ETag.
      source: cut(source, 600),
      stage,
      reason: cut(reason, 300),
    })),
  };
}

function undoneSummary(removed: RemoveResult[]): UndoneSummary {
  return {
    files: removed.length,
    read: removed.reduce((sum, r) => sum + r.read, 0),
    removed: removed.reduce((sum, r) => sum + r.removed, 0),
    listed: removed.slice(0, maxUndoneListed),
  };
}

/** The type's rows of the day in workbook order; only the columns the workbook uses are read. */
function readRows(spec: ExportSpec, date: string, deps: BuildDeps): AsyncIterable<SourceRow[]> {
  const names: Record<string, string> = { '#values': 'values' };
  const columns = workbookColumns(spec).map((name, i) => {
    names[`#c${i}`] = name;
    return `#values.#c${i}`;
  });
  const projection = {
    ProjectionExpression: ['sk', 'exportedAt', ...columns].join(', '),
    ExpressionAttributeNames: names,
  };
  const shards = Array.from({ length: deps.config.storage.shards }, (_, shard) =>
    queryPartition(rowPartition(date, spec.type, shard), deps, projection),
  );
  return mergeInOrder(shards, agentColumn(spec));
}

/** One partition's items, a page at a time, in sort key order (time, then identity). */
async function* queryPartition(
  pk: string,
  deps: BuildDeps,
  projection: { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> },
): AsyncGenerator<ReadRow[]> {
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
    const items = (page.Items ?? []) as ReadRow[];
    // A row holding none of the columns read comes back without its values map.
    for (const item of items) item.values ??= {};
    yield items;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}
