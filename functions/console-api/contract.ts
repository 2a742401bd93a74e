/**
 * The console's API as the browser app sees it: request and response bodies of every route,
 * and the app's runtime settings (`/config.json`). Plain types only: the app imports them.
 */

import type { RowCounts, RuleStatus } from '../common/contracts.ts';

/** The two roles; an operator may also act (rerun, cancel, redrive, undo, resend). */
export type Role = 'viewer' | 'operator';

/** `/config.json` on the app's own origin. */
export interface ConsoleSettings {
  /** The API's root, without a trailing slash. */
  apiUrl: string;
  /** The OIDC issuer; its endpoints are at `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  scopes: string[];
  /** Extra parameters of the authorization request, e.g. `{ resource: … }` for resource indicators. */
  authParams?: Record<string, string>;
  /** The center's IANA time zone: dates and hours are shown in it. */
  timeZone: string;
  centerName: string;
}

/**
 * Every error's body from the API's handler. A 401 comes from API Gateway's JWT authorizer
 * before the handler runs: its body is API Gateway's own `{ "message": "Unauthorized" }`.
 */
export interface ApiError {
  error: {
    /** `bad_request` (400), `unauthorized` (401), `forbidden` (403), `not_found` (404), `conflict` (409), `internal` (500). */
    code: 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'internal';
    message: string;
  };
}

/** `GET /me` */
export interface MeResponse {
  user: { subject: string; name?: string; email?: string };
  roles: Role[];
}

/**
 * A day's state: `delivered` (the report was emailed), `built` (a workbook, not delivered),
 * `running` (an execution in flight), `failed` (the last execution failed, at `failedStage`),
 * `late` (an export type's data is late), `missing` (an export type has no rows), `none` (no run).
 */
export type DayStatus = 'delivered' | 'built' | 'running' | 'failed' | 'late' | 'missing' | 'none';

/** `GET /days?from&to&status&cursor&limit`: newest first; `next` is the cursor of the page after. */
export interface DaysResponse {
  days: DaySummary[];
  next?: string;
}

export interface DaySummary {
  /** `YYYY-MM-DD`, the business day. */
  date: string;
  status: DayStatus;
  /** The ASL state an execution failed at (Collect, IngestFiles, Build, Deliver). */
  failedStage?: string;
  /** Rows of the day per export type. */
  rowsByType: Record<string, number>;
  rejects: number;
  /** ISO instant of the newest export among the day's rows. */
  lastExportAt?: string;
  intradayRuns: number;
  workbook?: { bytes: number };
}

/** One export type's reconciliation: read = inserted + updated + unchanged + stale + rejected (blank apart). */
export interface Reconciliation extends RowCounts {
  type: string;
}

export interface FileSource {
  kind: 'mail' | 'agent';
  subject?: string;
  sender?: string;
  /** ISO instant the email was sent (or the file exported). */
  sentAt?: string;
  /** The Windows agent's id. */
  agent?: string;
}

export interface FileRow {
  rawKey: string;
  type: string;
  source: FileSource;
  /** `ingested`, `rejected: <reason>`, `quarantined`, `undone`. */
  outcome: string;
  /** Data rows read from it. */
  rows?: number;
  attachmentName?: string;
}

export interface QuarantinedInput {
  /** What `release` takes. */
  sourceId: string;
  stage: 'collect' | 'ingest';
  reason: string;
  at: string;
  detail?: Record<string, string>;
}

export interface RejectedRow {
  rawKey: string;
  type: string;
  line: number;
  reason: string;
}

export interface LateExport {
  type: string;
  lastExportAt?: string;
}

export interface Delivery {
  kind?: string;
  recipients: string[];
  sentAt: string;
  messageId: string;
  /** Bounces and complaints SES reported for the message; null where they are not recorded (they go to the admins by SNS). */
  bounces: number | null;
  complaints: number | null;
  executionId?: string;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionSummary {
  /** The execution ARN: what `/executions/{id}` takes (URL-encoded). */
  executionId: string;
  name: string;
  status: ExecutionStatus;
  startedAt: string;
  stoppedAt?: string;
  durationMs?: number;
  failedStage?: string;
  /** The execution in the AWS Step Functions console; absent locally. */
  consoleUrl?: string;
}

/** One hour of the day as the clocks show it: `HH:00` (a repeated hour adds its zone, `01:00 CST`). */
export interface HourVolume {
  hour: string;
  byType: Record<string, number>;
}

/** The agents' KPIs: one row per agent, cells in `columns` order. */
export interface AgentTable {
  columns: string[];
  rows: (string | number | null)[][];
}

export type AuditAction = 'download' | 'rerun' | 'cancel' | 'redrive' | 'undo' | 'resend';

/** Who did what to a day, and when. */
export interface AuditEntry {
  at: string;
  /** The user's email or subject. */
  who: string;
  action: AuditAction;
  date: string;
  executionId?: string;
  detail?: Record<string, unknown>;
}

/** `GET /days/{date}` */
export interface DayDetail {
  date: string;
  status: DayStatus;
  failedStage?: string;
  types: Reconciliation[];
  files: FileRow[];
  quarantined: QuarantinedInput[];
  /** The first rejected rows (capped); all of them in `/days/{date}/rejects.csv`. */
  rejectedRows: RejectedRow[];
  rejectedRowsTotal: number;
  missing: string[];
  late: LateExport[];
  deliveries: Delivery[];
  executions: ExecutionSummary[];
  volumeByHour: HourVolume[];
  agents: AgentTable;
  audit: AuditEntry[];
  /** The day's threshold alert rules with the hours they crossed and recovered at; absent when none is configured. */
  alerts?: RuleStatus[];
}

/** `GET /days/{date}/workbook[?version=ID]`: a presigned, short-lived URL. */
export interface WorkbookLink {
  url: string;
  expiresAt: string;
  versionId: string;
  bytes: number;
}

/** `GET /days/{date}/workbook/versions`, newest first. */
export interface WorkbookVersions {
  versions: { versionId: string; lastModified: string; bytes: number; current: boolean }[];
}

/** `POST /days/{date}/rerun` */
export interface RerunRequest {
  reports?: string[];
  force?: boolean;
  deliver?: boolean;
}

/** `POST /days/{date}/undo`: a raw key of the day or an email's message id. */
export interface UndoRequest {
  source: string;
}

/** 202 of rerun, cancel, redrive, undo, resend (which starts an execution with force). */
export interface ActionAccepted {
  executionId: string;
}

/** `GET /executions/{id}` */
export interface ExecutionState {
  executionId: string;
  status: ExecutionStatus;
  startedAt: string;
  stoppedAt?: string;
  failedStage?: string;
  date?: string;
}

/** `GET /today`: `etag` changes when anything shown changes. */
export interface TodayResponse {
  date: string;
  volumeByHour: HourVolume[];
  missing: string[];
  late: LateExport[];
  lastRunAt?: string;
  nextRunAt?: string;
  etag: string;
}

/** `GET /health` */
export interface HealthResponse {
  lastSuccessfulRun?: { at: string; executionId: string; date?: string };
  /** `local`: the instant in the center's time zone; `kind`: daily or intraday. */
  nextRuns: { at: string; local: string; kind: 'daily' | 'intraday' }[];
  /** `state`: OK, ALARM, INSUFFICIENT_DATA, or `not available locally`. */
  alarms: { name: string; state: string }[];
  deadLetterQueues: { name: string; depth: number | null }[];
  /** Parts that do not exist where the API runs (the local stack has no Scheduler, CloudWatch or SQS). */
  notes?: string[];
}
