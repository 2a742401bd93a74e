import { HeadObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ExecutionControl, ExecutionView } from '../actions/executions.ts';
import { mapPool } from '../collect/concurrency.ts';
import type { Resources } from '../common/clients.ts';
import type { Config } from '../common/config.ts';
import type { HourlyVolume, IngestResult, RemoveResult, RunInput, SourceFile } from '../common/contracts.ts';
import { type DayStatusRecord, queryDayStatuses } from '../common/day-status.ts';
import { type DayView, readDayView } from '../common/day-view.ts';
import { runPrefix } from '../common/keys.ts';
import { PARTITION_PREFIX, PREFIX } from '../common/names.ts';
import { readMetadata } from '../common/objects.ts';
import { listQuarantined } from '../common/quarantine.ts';
import { isTransientAwsError, retry } from '../common/retry.ts';
import { readManifest, readRunResults } from '../common/run-records.ts';
import { addDays, isDate, localDate, previousLocalDate } from '../common/time.ts';
import type { SentMessage } from '../deliver/deliver.ts';
import type {
  DayDetail,
  DayStatus,
  DaySummary,
  Delivery,
  ExecutionSummary,
  FileRow,
  HourVolume,
  LateExport,
} from './contract.ts';
import { HttpError } from './http.ts';

export interface DaysDeps {
  config: Config;
  s3: S3Client;
  dynamodb: DynamoDBDocumentClient;
  resources: Resources;
  executions: ExecutionControl;
  now: () => Date;
}

/** Days a page lists by default, and at most. */
export const DAYS_PAGE = { default: 90, max: 366 } as const;

/** Executions of one day the detail describes (the newest). */
const maxDayExecutions = 50;

/** Files whose lineage is read at once. */
const headConcurrency = 16;

const awsRetry = { retryable: isTransientAwsError };

/** The business day an execution is for: its output's, its input's, or its schedule's. */
export function executionDate(execution: ExecutionView, timeZone: string): string | undefined {
  const output = execution.output as { date?: string } | undefined;
  if (output?.date) return output.date;
  const input: RunInput = execution.input ?? {};
  if (input.date) return input.date;
  const scheduled = input.scheduledTime ? Date.parse(input.scheduledTime) : Date.parse(execution.startedAt);
  if (Number.isNaN(scheduled)) return undefined;
  return input.intraday ? localDate(scheduled, timeZone) : previousLocalDate(scheduled, timeZone);
}

/** A day's status from its record and whether an execution of it runs now. */
export function dayStatus(
  record: DayStatusRecord | undefined,
  running: boolean,
  today: string,
): { status: DayStatus; failedStage?: string } {
  if (running) return { status: 'running' };
  if (!record) return { status: 'none' };
  if (record.failed && (!record.builtAt || record.failed.at > record.builtAt)) {
    return { status: 'failed', ...(record.failed.stage ? { failedStage: record.failed.stage } : {}) };
  }
  if (!record.builtAt) return { status: 'none' };
  // During the day, exports still to come are not missing yet.
  if (record.missing?.length && record.sk < today) return { status: 'missing' };
  if (record.late?.length) return { status: 'late' };
  return { status: record.deliveredAt ? 'delivered' : 'built' };
}

export function summaryOf(
  date: string,
  record: DayStatusRecord | undefined,
  running: boolean,
  today: string,
): DaySummary {
  return {
    date,
    ...dayStatus(record, running, today),
    rowsByType: record?.rowsByType ?? {},
    rejects: record?.rejects ?? 0,
    ...(record?.lastExportAt ? { lastExportAt: record.lastExportAt } : {}),
    intradayRuns: record?.intradayRuns ?? 0,
    ...(record?.workbookBytes !== undefined ? { workbook: { bytes: record.workbookBytes } } : {}),
  };
}

/** The days running now, by business date. */
async function runningDates(deps: DaysDeps): Promise<Set<string>> {
  const running = await deps.executions.running();
  return new Set(running.flatMap((execution) => executionDate(execution, deps.config.timeZone) ?? []));
}

export interface DaysQuery {
  from?: string;
  to?: string;
  status?: DayStatus;
  /** The date the page before ended on: the next page ends the day before it. */
  cursor?: string;
  limit: number;
}

/** A page of days, newest first: one query of the day records, one listing of the running executions. */
export async function listDays(deps: DaysDeps, query: DaysQuery): Promise<{ days: DaySummary[]; next?: string }> {
  const today = localDate(deps.now().getTime(), deps.config.timeZone);
  const newest = [query.to ?? today, query.cursor ? addDays(query.cursor, -1) : today].sort()[0] as string;
  const oldest = [query.from ?? addDays(newest, -(query.limit - 1)), addDays(newest, -(query.limit - 1))]
    .sort()
    .at(-1) as string;
  if (oldest > newest) return { days: [] };
  const [records, running] = await Promise.all([
    queryDayStatuses(deps.dynamodb, deps.resources.table, oldest, newest),
    runningDates(deps),
  ]);
  const byDate = new Map(records.map((record) => [record.sk, record]));
  const days: DaySummary[] = [];
  for (let date = newest; date >= oldest; date = addDays(date, -1)) {
    const summary = summaryOf(date, byDate.get(date), running.has(date), today);
    if (!query.status || summary.status === query.status) days.push(summary);
  }
  const more = query.from === undefined || oldest > query.from;
  return { days, ...(more ? { next: oldest } : {}) };
}

/** The executions of a day, newest first: those whose records are under runs/<date>/, and those running now. */
export async function dayExecutions(deps: DaysDeps, date: string): Promise<ExecutionView[]> {
  const names = new Set<string>();
  const Prefix = `${PREFIX.runs}${date}/`;
  for await (const page of paginateListObjectsV2(
    { client: deps.s3 },
    { Bucket: deps.resources.dataBucket, Prefix, Delimiter: '/' },
  )) {
    for (const prefix of page.CommonPrefixes ?? []) {
      const name = prefix.Prefix?.slice(Prefix.length, -1);
      if (name) names.add(name);
    }
  }
  const described = await mapPool([...names].slice(-maxDayExecutions), headConcurrency, (name) =>
    deps.executions.describe(name),
  );
  const running = (await deps.executions.running()).filter(
    (execution) => executionDate(execution, deps.config.timeZone) === date,
  );
  const all = new Map<string, ExecutionView>();
  for (const execution of [...described, ...running]) if (execution) all.set(execution.executionId, execution);
  return [...all.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

export function executionSummary(execution: ExecutionView, control: ExecutionControl): ExecutionSummary {
  const consoleUrl = control.consoleUrl(execution.executionId);
  return {
    executionId: execution.executionId,
    name: execution.name,
    status: execution.status,
    startedAt: execution.startedAt,
    ...(execution.stoppedAt
      ? {
          stoppedAt: execution.stoppedAt,
          durationMs: Date.parse(execution.stoppedAt) - Date.parse(execution.startedAt),
        }
      : {}),
    ...(execution.failedStage ? { failedStage: execution.failedStage } : {}),
    ...(consoleUrl ? { consoleUrl } : {}),
  };
}

/** Volume by hour as the console shows it: `HH:00`, a repeated hour with its zone. */
export function hourVolumes(hourly: readonly HourlyVolume[]): HourVolume[] {
  return hourly.map((hour) => ({
    hour: `${String(hour.hour).padStart(2, '0')}:00${hour.zone ? ` ${hour.zone}` : ''}`,
    byType: hour.volumes,
  }));
}

export function lateExports(view: DayView | undefined): LateExport[] {
  if (!view) return [];
  return view.late.map((type) => {
    const last = view.types.find((t) => t.type === type)?.lastExportAt;
    return { type, ...(last ? { lastExportAt: last } : {}) };
  });
}

/** The day's record, or undefined when no run has built or failed it. */
export async function dayRecord(deps: DaysDeps, date: string): Promise<DayStatusRecord | undefined> {
  const [record] = await queryDayStatuses(deps.dynamodb, deps.resources.table, date, date);
  return record;
}

/** What the latest build of the day found; undefined when none has. */
export async function latestDayView(
  deps: DaysDeps,
  date: string,
  record: DayStatusRecord | undefined,
): Promise<DayView | undefined> {
  if (!record?.executionId) return undefined;
  try {
    return await readDayView(deps.s3, deps.resources.dataBucket, date, record.executionId);
  } catch (error) {
    // Built before the console's day views were written.
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** The files of the latest build's run: their source, raw key and outcome. */
async function dayFiles(deps: DaysDeps, date: string, executionId: string): Promise<FileRow[]> {
  const bucket = deps.resources.dataBucket;
  const run = { date, executionId };
  let manifestFiles: { files: SourceFile[]; undone: SourceFile[] };
  try {
    manifestFiles = await readManifest(deps.s3, { bucket, key: `${runPrefix(date, executionId)}manifest.json` });
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return [];
    throw error;
  }
  const [ingested, removed] = await Promise.all([
    readRunResults<IngestResult>(deps.s3, bucket, run, 'ingested'),
    readRunResults<RemoveResult>(deps.s3, bucket, run, 'removed'),
  ]);
  const rows = await mapPool([...manifestFiles.files.entries()], headConcurrency, async ([index, file]) => {
    const result = ingested[index];
    const outcome = result?.quarantined
      ? 'quarantined'
      : result?.fileRejected
        ? `rejected: ${result.fileRejected}`
        : result
          ? 'ingested'
          : 'not ingested';
    return fileRow(deps, file, outcome, result?.counts.read);
  });
  const undone = await mapPool([...manifestFiles.undone.entries()], headConcurrency, ([index, file]) =>
    fileRow(deps, file, 'undone', removed[index]?.read),
  );
  return [...rows, ...undone];
}

async function fileRow(deps: DaysDeps, file: SourceFile, outcome: string, rows: number | undefined): Promise<FileRow> {
  const lineage = await rawLineage(deps, file.key);
  return {
    rawKey: file.key,
    type: file.type,
    source: {
      kind: file.origin === 'agent' ? 'agent' : 'mail',
      ...(lineage.sender ? { sender: lineage.sender } : {}),
      ...(lineage.subject ? { subject: lineage.subject } : {}),
      sentAt: file.exportedAt,
      ...(file.origin === 'agent' ? { agent: lineage.agent ?? file.messageId } : {}),
    },
    outcome,
    ...(rows !== undefined ? { rows } : {}),
    attachmentName: file.attachmentName,
  };
}

/** The sender (and subject or agent, where stored) kept on a raw file's metadata. */
async function rawLineage(deps: DaysDeps, key: string): Promise<Record<string, string | undefined>> {
  try {
    const head = await retry(
      () => deps.s3.send(new HeadObjectCommand({ Bucket: deps.resources.dataBucket, Key: key })),
      awsRetry,
    );
    return await readMetadata(deps.s3, deps.resources.dataBucket, key, head.Metadata);
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as Error).name === 'NotFound' || status === 404) return {};
    throw error;
  }
}

/** Every message sent for the day, newest first. */
async function dayDeliveries(deps: DaysDeps, date: string): Promise<Delivery[]> {
  const page = await retry(
    () =>
      deps.dynamodb.send(
        new QueryCommand({
          TableName: deps.resources.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sent)',
          ExpressionAttributeValues: { ':pk': `${PARTITION_PREFIX.delivery}${date}`, ':sent': 'SENT#' },
          ScanIndexForward: false,
        }),
      ),
    awsRetry,
  );
  return ((page.Items ?? []) as SentMessage[]).map((sent) => ({
    kind: sent.kind,
    recipients: sent.recipients,
    sentAt: sent.sentAt,
    messageId: sent.messageId,
    bounces: null,
    complaints: null,
    executionId: sent.executionId,
  }));
}

export async function dayDetail(deps: DaysDeps, date: string, audit: DayDetail['audit']): Promise<DayDetail> {
  const today = localDate(deps.now().getTime(), deps.config.timeZone);
  const record = await dayRecord(deps, date);
  const [view, executions, quarantined, deliveries] = await Promise.all([
    latestDayView(deps, date, record),
    dayExecutions(deps, date),
    listQuarantined(deps.s3, deps.resources.dataBucket, date),
    dayDeliveries(deps, date),
  ]);
  const files = record?.executionId ? await dayFiles(deps, date, record.executionId) : [];
  const running = executions.some((execution) => execution.status === 'RUNNING');
  const state = dayStatus(record, running, today);
  const failedStage =
    state.status === 'failed'
      ? (state.failedStage ?? executions.find((execution) => execution.status === 'FAILED')?.failedStage)
      : undefined;
  return {
    date,
    status: state.status,
    ...(failedStage ? { failedStage } : {}),
    types: (view?.types ?? []).map(({ type, ingest }) => ({ type, ...ingest })),
    files,
    quarantined: quarantined.map((q) => ({
      sourceId: q.source,
      stage: q.stage,
      reason: q.reason,
      at: q.at,
      ...(q.detail ? { detail: q.detail } : {}),
    })),
    rejectedRows: view?.rejectedRows ?? [],
    rejectedRowsTotal: view?.rejectedRowsTotal ?? 0,
    missing: view?.missing ?? [],
    late: lateExports(view),
    deliveries,
    executions: executions.map((execution) => executionSummary(execution, deps.executions)),
    volumeByHour: hourVolumes(view?.hourly ?? []),
    agents: view?.agents ?? { columns: [], rows: [] },
    audit,
    ...(view?.alerts ? { alerts: view.alerts.rules } : {}),
  };
}

/** Refuses a date that is not one, or one after the center's today. */
export function requireDay(date: string | undefined, deps: Pick<DaysDeps, 'config' | 'now'>): string {
  if (!date || !isDate(date)) {
    throw new HttpError('bad_request', `Not a date: "${date ?? ''}" (expected YYYY-MM-DD)`);
  }
  const today = localDate(deps.now().getTime(), deps.config.timeZone);
  if (date > today) throw new HttpError('bad_request', `${date} is after today (${today}) in ${deps.config.timeZone}`);
  return date;
}
