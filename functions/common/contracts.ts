/**
 * The payloads that pass between the states of the workflow. Each stage returns only
 * small summaries: files travel through S3, rows through DynamoDB.
 */

/** What an execution may be started with (console rerun, schedule, CLI). */
export interface RunInput {
  /** Business date `YYYY-MM-DD`; default: the local day that has just ended. */
  date?: string;
  /** Export types to collect and ingest; default: all. The workbook always covers the whole day. */
  reports?: string[];
  /** Deliver again even when this day's report was already sent. */
  force?: boolean;
  /** `false` builds without sending; `true` sends even if already sent (like force). */
  deliver?: boolean;
  /** Set by the schedule: the scheduled instant, from which the business date follows. */
  scheduledTime?: string;
  /** Set by intraday schedules: report the day so far (the scheduled instant's local date), not the day before. */
  intraday?: boolean;
  /**
   * Takes files out of the day: raw keys (`raw/<date>/<type>/<sha256>.csv`) or message ids
   * (every file of that email). Their rows are removed or restored to the previous version
   * and the workbook is rebuilt; the files stay excluded from later runs.
   */
  undo?: string[];
  /**
   * Releases quarantined inputs of the day (their source ids as listed in the execution
   * output, or `"all"`): this run reads them again. Needs `date`.
   */
  release?: string[];
}

/** The normalised run, decided once by collect and passed to every later state. */
export interface Run {
  date: string;
  reports: string[];
  force: boolean;
  deliver: boolean;
  executionId: string;
  /** Window of receipt/export times collected, ISO instants. */
  window: { start: string; end: string };
  /** Local `HHMM` of an intraday run (its scheduled time): the run's workbook is named with it. */
  intradayTime?: string;
  /** The sources this run was asked to take out (see RunInput.undo). */
  undo?: string[];
  /** The quarantined sources this run was asked to release (see RunInput.release). */
  release?: string[];
}

/** Where a file came from. */
export type FileOrigin = 'graph' | 'agent' | 'saved-mail';

/** One stored source file, ready for ingest. */
export interface SourceFile {
  bucket: string;
  key: string;
  type: string;
  sha256: string;
  bytes: number;
  /** When the export was made: the message's sent time, or the time in a saved file's name. */
  exportedAt: string;
  receivedAt: string;
  messageId: string;
  attachmentName: string;
  origin: FileOrigin;
}

export interface IgnoredMessage {
  messageId: string;
  subject: string;
  reason: string;
}

export interface CollectSummary {
  messagesSeen: number;
  messagesMatched: number;
  messagesIgnored: number;
  /** The first ignored messages with their reasons (capped to keep the state small). */
  ignored: IgnoredMessage[];
  attachmentsStored: number;
  attachmentsAlreadyStored: number;
  agentFiles: number;
  /** Messages and inbox files kept aside this run, newly or before (functions/common/quarantine.ts). */
  messagesQuarantined?: number;
}

export interface CollectResult {
  run: Run;
  files: SourceFile[];
  /** The day's excluded files (undone in this run or before): their rows are taken out before the others are ingested. */
  undone: SourceFile[];
  mail: CollectSummary;
}

/** read = inserted + updated + unchanged + stale + rejected; blank padding apart. */
export interface RowCounts {
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  stale: number;
  rejected: number;
  blank: number;
}

export interface IngestInput {
  run: Run;
  file: SourceFile;
  /** Take the file's rows out instead of storing them (an undone file). */
  remove?: boolean;
}

/** What taking an undone file's rows out did. */
export interface RemoveResult {
  key: string;
  type: string;
  /** Data rows read from the file. */
  read: number;
  /** Stored rows that were this file's version and were deleted. */
  removed: number;
}

export interface IngestResult {
  key: string;
  type: string;
  counts: RowCounts;
  /** Rejected rows with line numbers and reasons, when there are any. */
  rejectsKey?: string;
  /** Set when the whole file was rejected (e.g. a missing column). */
  fileRejected?: string;
}

export interface BuildInput {
  run: Run;
  ingested: IngestResult[];
  mail: CollectSummary;
}

export interface TypeSummary {
  type: string;
  tab: string;
  /** Rows of the day in the workbook. */
  rows: number;
  /** Latest export time among the day's rows, ISO, if any. */
  lastExportAt?: string;
  /** This run's ingest counts for the type. */
  ingest: RowCounts;
  files: number;
}

/** Volume in one local hour of the day, per export type (sum of Handle where the type has it, else rows). */
export interface HourlyVolume {
  /** Local hour 0–23. */
  hour: number;
  volumes: Record<string, number>;
}

/** Center-wide figures of the day; absent where the exports needed are missing. */
export interface DayKpis {
  callsHandled?: number;
  dialsHandled?: number;
  avgHandleMs?: number;
  avgTalkMs?: number;
  avgHoldMs?: number;
  avgAcwMs?: number;
  /** Percent (0–100) of logged-in time. */
  onQueuePct?: number;
  /** Percent (0–100) of logged-in time. */
  interactingPct?: number;
  agents?: number;
}

export interface BuildResult {
  workbook: { bucket: string; key: string; bytes: number };
  types: TypeSummary[];
  totals: RowCounts;
  /** Export types with no rows for the day. */
  missing: string[];
  /** Export types whose latest data is older than `workbook.lateAfterMinutes` before the newest of any type. */
  late?: string[];
  hourly?: HourlyVolume[];
  kpis?: DayKpis;
}

export interface DeliverInput {
  run: Run;
  report: BuildResult;
}

export interface DeliveryResult {
  sent: boolean;
  /** Why nothing was sent (already delivered, delivery off). */
  reason?: string;
  messageId?: string;
  recipients: string[];
  attached: boolean;
  link?: string;
  /** `intraday` while the day's collection window is still open, else `daily`. */
  kind?: 'daily' | 'intraday';
  /** The missing-exports alert this run sent the admins, if it sent one. */
  alertMessageId?: string;
}

/** What the failure path receives from a Catch. */
export interface FailureInput {
  kind: 'failure';
  executionId: string;
  input: unknown;
  error: { Error?: string; Cause?: string };
}

/** An execution's end, as EventBridge reports it to the failure notice ("Step Functions Execution Status Change"). */
export interface ExecutionStatusChange {
  version: string;
  id: string;
  'detail-type': 'Step Functions Execution Status Change';
  source: 'aws.states';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    executionArn: string;
    stateMachineArn: string;
    name: string;
    status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
    /** Epoch milliseconds. */
    startDate: number;
    stopDate: number | null;
    /** The execution input as JSON text. */
    input: string | null;
    output: string | null;
    inputDetails?: { included: boolean };
    outputDetails?: { included: boolean } | null;
    error?: string | null;
    cause?: string | null;
    redriveCount?: number;
  };
}

export function emptyCollectSummary(): CollectSummary {
  return {
    messagesSeen: 0,
    messagesMatched: 0,
    messagesIgnored: 0,
    ignored: [],
    attachmentsStored: 0,
    attachmentsAlreadyStored: 0,
    agentFiles: 0,
  };
}

export function emptyCounts(): RowCounts {
  return { read: 0, inserted: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 0 };
}

export function addCounts(into: RowCounts, from: RowCounts): RowCounts {
  for (const k of Object.keys(into) as (keyof RowCounts)[]) into[k] += from[k];
  return into;
}
