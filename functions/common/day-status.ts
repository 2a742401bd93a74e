import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BuildOutput } from './contracts.ts';
import { dayStatusKey } from './keys.ts';
import { DAY_STATUS_PARTITION } from './names.ts';
import { isTransientAwsError, retry } from './retry.ts';

/**
 * One small item per business day telling how its latest runs went, written by the stages as
 * they finish (Build, Deliver, the failure notice): the console lists 90 days with one query
 * instead of reading every execution and run record of each day.
 */
export interface DayStatusRecord {
  pk: string;
  /** The business date. */
  sk: string;
  /** The latest build: when, by which execution, and what the day held then. */
  builtAt?: string;
  executionId?: string;
  rowsByType?: Record<string, number>;
  rejects?: number;
  lastExportAt?: string;
  missing?: string[];
  late?: string[];
  workbookBytes?: number;
  /** Builds of the day by intraday runs. */
  intradayRuns?: number;
  /** The day's report (not an intraday one) was emailed then. */
  deliveredAt?: string;
  /** The latest execution of the day that failed; older than `builtAt` once a later run built the day. */
  failed?: { at: string; executionId: string; error: string; stage?: string };
}

const awsRetry = { retryable: isTransientAwsError };

/** What a build found: the day's rows, rejects, freshness and workbook size. */
export async function recordDayBuilt(
  dynamodb: DynamoDBDocumentClient,
  table: string,
  build: { date: string; executionId: string; intraday: boolean; at: Date; report: BuildOutput },
): Promise<void> {
  const { report } = build;
  const lastExport = report.types.flatMap((t) => (t.lastExportAt ? [t.lastExportAt] : [])).sort();
  const set: Record<string, unknown> = {
    builtAt: build.at.toISOString(),
    executionId: build.executionId,
    rowsByType: Object.fromEntries(report.types.map((t) => [t.type, t.rows])),
    rejects: report.totals.rejected,
    missing: report.missing,
    late: report.late ?? [],
    workbookBytes: report.workbook.bytes,
    ...(lastExport.length ? { lastExportAt: lastExport.at(-1) } : {}),
  };
  await update(dynamodb, table, build.date, set, build.intraday ? { intradayRuns: 1 } : {});
}

/** Sets the fields given (and adds to counters), every name through a placeholder: some are reserved words. */
async function update(
  dynamodb: DynamoDBDocumentClient,
  table: string,
  date: string,
  set: Record<string, unknown>,
  add: Record<string, number> = {},
): Promise<void> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const clause = (fields: Record<string, unknown>, prefix: string, format: (name: string, value: string) => string) =>
    Object.entries(fields).map(([field, value], i) => {
      names[`#${prefix}${i}`] = field;
      values[`:${prefix}${i}`] = value;
      return format(`#${prefix}${i}`, `:${prefix}${i}`);
    });
  const sets = clause(set, 's', (name, value) => `${name} = ${value}`);
  const adds = clause(add, 'a', (name, value) => `${name} ${value}`);
  await retry(
    () =>
      dynamodb.send(
        new UpdateCommand({
          TableName: table,
          Key: dayStatusKey(date),
          UpdateExpression: [sets.length ? `SET ${sets.join(', ')}` : '', adds.length ? `ADD ${adds.join(', ')}` : '']
            .filter(Boolean)
            .join(' '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    awsRetry,
  );
}

/** The day's report was emailed. */
export async function recordDayDelivered(
  dynamodb: DynamoDBDocumentClient,
  table: string,
  date: string,
  at: Date,
): Promise<void> {
  await update(dynamodb, table, date, { deliveredAt: at.toISOString() });
}

/** An execution of the day failed (the failure notice knows the error; the stage where known). */
export async function recordDayFailed(
  dynamodb: DynamoDBDocumentClient,
  table: string,
  date: string,
  failed: NonNullable<DayStatusRecord['failed']>,
): Promise<void> {
  await update(dynamodb, table, date, { failed });
}

/** The records of the days from `from` to `to`, newest first: one query. */
export async function queryDayStatuses(
  dynamodb: DynamoDBDocumentClient,
  table: string,
  from: string,
  to: string,
): Promise<DayStatusRecord[]> {
  const records: DayStatusRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await retry(
      () =>
        dynamodb.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: { ':pk': DAY_STATUS_PARTITION, ':from': from, ':to': to },
            ScanIndexForward: false,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      awsRetry,
    );
    records.push(...((page.Items ?? []) as DayStatusRecord[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return records;
}
