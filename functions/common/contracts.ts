/**
 * The payloads that pass between the states of the workflow. Each stage returns only
 * small summaries, bounded whatever the size of the day: files and their lists travel
 * through S3 (the run's manifest and results, functions/common/run-records.ts), rows
 * through DynamoDB.
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
  /**
   * `intentional`: mail that is not an export (a newsletter, an inline image) or an export the
   * run did not ask for; `suspicious`: what looks like an export but was left out (an
   * export-shaped attachment from an unknown sender, an attachment over the size limit, an
   * unknown CSV header, an unreadable message). Suspicious ones reach the email's attention
   * block. Absent is read as suspicious.
   */
  severity?: 'intentional' | 'suspicious';
  /** What to change so that such mail is collected, e.g. `add it or its domain to mailbox.senders`. */
  fix?: string;
}

/** What collect counts while it reads the mailbox, saved mail and the agent inbox. */
export interface CollectSummary {
  messagesSeen: number;
  messagesMatched: number;
  messagesIgnored: number;
  /** The ignored messages with their reasons, as collect lists them. */
  ignored: IgnoredMessage[];
  attachmentsStored: number;
  attachmentsAlreadyStored: number;
  agentFiles: number;
  /** Messages and inbox files kept aside this run, newly or before (functions/common/quarantine.ts). */
  messagesQuarantined?: number;
}

/**
 * One reason things were left out, with how many: the first message it was given for, and
 * `example`, the first full text (file name included).
 */
export interface IgnoredReason extends IgnoredMessage {
  count: number;
  example: string;
}

/** The collect summary as the states carry it: ignored reasons grouped and capped, the full list in the manifest. */
export interface MailSummary extends CollectSummary {
  ignored: IgnoredReason[];
  /** Reasons left out of `ignored` by its cap. */
  ignoredReasonsNotListed: number;
}

/** An object in S3. */
export interface ObjectRef {
  bucket: string;
  key: string;
}

/** The run's manifest (functions/common/run-records.ts): the files it ingests and takes out, and what it ignored. */
export interface RunManifest {
  executionId: string;
  date: string;
  files: SourceFile[];
  undone: SourceFile[];
  ignored: IgnoredMessage[];
}

/** What collect found: the day's files, in full. */
export interface CollectResult {
  run: Run;
  files: SourceFile[];
  /** The day's excluded files (undone in this run or before). */
  undone: SourceFile[];
  mail: CollectSummary;
}

/** The Collect state's output: the lists of its result in the run's manifest, positions in them in the state. */
export interface CollectOutput {
  run: Run;
  /** Where the run's file lists are: the states carry positions in them, never the lists. */
  manifest: ObjectRef;
  /** One entry per file to ingest: its position in the manifest's `files`. */
  files: number[];
  /**
   * One entry per excluded file (undone in this run or before), its position in the manifest's
   * `undone`: their rows are taken out before the others are ingested.
   */
  undone: number[];
  mail: MailSummary;
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

/**
 * What one Map iteration hands the ingest function: the run, its manifest and a position in
 * it. The result goes to S3 (functions/common/run-records.ts), not into the state.
 */
export interface ManifestEntryInput {
  run: Run;
  manifest: ObjectRef;
  index: number;
  /** The entry is one of the manifest's `undone` files: its rows are taken out. */
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
  /** Set when the whole file was rejected (e.g. a missing column), or quarantined: why. */
  fileRejected?: string;
  /**
   * The file is quarantined (common/quarantine.ts): its reading failed in a way a rerun would
   * only repeat, in this run or an earlier one (then nothing of it is counted); skipped until released.
   */
  quarantined?: boolean;
  /**
   * DynamoDB items ingest read to decide the file's rows: keys asked for by BatchGetItem, or,
   * with row digests (`rowDigests.enabled`), one generation per day and type and the rows of a
   * snapshot rebuilt from the table. Absent when nothing was read.
   */
  tableReads?: number;
}

export interface BuildInput {
  run: Run;
  /** The run's manifest: build reads the ingest and removal results stored beside it. */
  manifest: ObjectRef;
  mail: MailSummary;
}

/** What taking out the day's excluded files did, in all; the first few files listed. */
export interface UndoneSummary {
  files: number;
  read: number;
  removed: number;
  /** The first files taken out (capped); every one is in the run's results. */
  listed: RemoveResult[];
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

/**
 * Volume in one hour of the day as the clocks show it, per export type (sum of Handle where the
 * type has it, else rows). A day has 24 of them, 23 when the clocks go forward and 25 when they
 * go back.
 */
export interface HourlyVolume {
  /** Local hour 0–23 it starts at. */
  hour: number;
  /** The zone's abbreviation (CDT, CST), only on the hour that repeats when the clocks go back. */
  zone?: string;
  volumes: Record<string, number>;
}

/** Center-wide figures of the day; absent where the exports needed are missing. Formulas: docs/figures.md. */
export interface DayKpis {
  callsHandled?: number;
  dialsHandled?: number;
  /** Per interaction handled, calls and dials. */
  avgHandleMs?: number;
  /** Dials: per interaction with talk. */
  avgTalkMs?: number;
  /** Dials: holds as Genesys counts them (Total Hold ÷ Avg Hold per row). */
  holds?: number;
  /** Dials: per hold, as Genesys's Avg Hold. */
  avgHoldMs?: number;
  /** Dials: per interaction with after-call work. */
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
  /** What went wrong in the run, for the email's attention block; absent when nothing did. */
  problems?: ProblemsSummary;
}

/**
 * The run's problems, counted, each list capped (functions/workbook/problems.ts): the workbook's
 * Problems tab lists them in full, up to its cap, and names the rejects objects.
 */
export interface ProblemsSummary {
  /** Files of the run rejected whole (a quarantined file is in BuildOutput.quarantined instead). */
  rejectedFiles: { count: number; listed: { file: string; type: string; reason: string }[] };
  /** The run's rejected rows, counted by reason (the reason without the value quoted after it). */
  rowRejects: { count: number; reasons: { reason: string; count: number }[]; reasonsNotListed: number };
  /** Mail left out that looked like an export (`severity` suspicious or absent), grouped by reason. */
  suspiciousIgnored: { count: number; listed: { reason: string; count: number; fix?: string }[] };
}

/** The Build state's output: the report, and what this run's files did. */
export interface BuildOutput extends BuildResult {
  /** Files ingested by this run. */
  files: number;
  undone: UndoneSummary;
  quarantined: QuarantineSummary;
}

/** The day's quarantined inputs (functions/common/quarantine.ts): every one counted, the first named. */
export interface QuarantineSummary {
  count: number;
  /** `source` is what the `release` input takes. */
  listed: { source: string; stage: 'collect' | 'ingest'; reason: string }[];
}

export interface DeliverInput {
  run: Run;
  /** The Build state's output; `quarantined` is absent from results of builds before quarantine. */
  report: BuildResult & Partial<Pick<BuildOutput, 'quarantined'>>;
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
