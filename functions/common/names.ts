/**
 * Names the stack (lib/) and the functions must agree on, defined once: the environment
 * variables a construct sets and its function reads, the metrics a function publishes and an
 * alarm watches, the S3 prefixes a grant allows and a key begins with, the table's key shapes.
 * Renaming one here renames it on both sides.
 */

/** Environment variables the constructs set (lib/) and the functions read (`fromEnvironment`). */
export const ENV = {
  dataBucket: 'DATA_BUCKET',
  reportsBucket: 'REPORTS_BUCKET',
  table: 'TABLE_NAME',
  /** Deliver: the download link endpoint's URL (lib/link.ts). */
  linkBaseUrl: 'LINK_BASE_URL',
  /** Deliver: the SES configuration set its mail goes through (lib/mail.ts). */
  sesConfigurationSet: 'SES_CONFIGURATION_SET',
  /** Run check: the state machine whose executions it lists (lib/run-check.ts); the console's API: the one it acts on. */
  stateMachineArn: 'STATE_MACHINE_ARN',
  /** The console's API: the stack's alarms and dead-letter queues, comma-separated names (lib/console.ts). */
  alarmNames: 'ALARM_NAMES',
  deadLetterQueues: 'DEAD_LETTER_QUEUES',
  powertoolsServiceName: 'POWERTOOLS_SERVICE_NAME',
  powertoolsMetricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  powertoolsLogLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;

/** The `service` of every log line and metric where no deployment names it (the local stack). */
export const SERVICE_NAME = 'charlie';

/**
 * A deployment's `service` (its functions' POWERTOOLS_SERVICE_NAME): the configuration's name,
 * `charlie` by default, so that the metrics of centers deployed in one account, and the alarms
 * watching them, stay apart.
 */
export function serviceName(config: { name: string }): string {
  return config.name;
}

/** Where every function's metrics are published, with the `service` dimension. */
export const METRIC_NAMESPACE = 'Charlie';

/** The dimension the row and rejection metrics carry, besides `service`. */
export const EXPORT_TYPE_DIMENSION = 'exportType';

/** Every metric a function publishes (functions/<name>/index.ts) and the dashboard or an alarm reads (lib/monitoring.ts). */
export const METRIC = {
  // collect
  messagesSeen: 'MessagesSeen',
  messagesMatched: 'MessagesMatched',
  messagesIgnored: 'MessagesIgnored',
  attachmentsStored: 'AttachmentsStored',
  messagesQuarantined: 'MessagesQuarantined',
  graphThrottled: 'GraphThrottled',
  // ingest, per export type
  rowsRead: 'RowsRead',
  rowsInserted: 'RowsInserted',
  rowsUpdated: 'RowsUpdated',
  rowsUnchanged: 'RowsUnchanged',
  rowsStale: 'RowsStale',
  rowsRejected: 'RowsRejected',
  rowsBlank: 'RowsBlank',
  rowsRemoved: 'RowsRemoved',
  /** DynamoDB items read to decide a file's rows (contracts.ts `IngestResult.tableReads`). */
  tableReads: 'TableReads',
  // workbook
  workbookBytes: 'WorkbookBytes',
  workbookRows: 'WorkbookRows',
  missingExports: 'MissingExports',
  lateExports: 'LateExports',
  // deliver
  reportsSent: 'ReportsSent',
  reportsAttached: 'ReportsAttached',
  missingExportAlertsSent: 'MissingExportAlertsSent',
  failureNoticesSent: 'FailureNoticesSent',
  thresholdAlertsFired: 'ThresholdAlertsFired',
  // link
  linksFollowed: 'LinksFollowed',
  linksRefused: 'LinksRefused',
  // run check
  lateRuns: 'LateRuns',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Ingest's row counts (contracts.ts `RowCounts`), each published as its own metric. */
export const ROW_COUNT_METRIC = {
  read: METRIC.rowsRead,
  inserted: METRIC.rowsInserted,
  updated: METRIC.rowsUpdated,
  unchanged: METRIC.rowsUnchanged,
  stale: METRIC.rowsStale,
  rejected: METRIC.rowsRejected,
  blank: METRIC.rowsBlank,
} as const;

/** The data and reports buckets' top-level prefixes (functions/common/keys.ts forms the full keys). */
export const PREFIX = {
  raw: 'raw/',
  rejects: 'rejects/',
  excluded: 'excluded/',
  reports: 'reports/',
  runs: 'runs/',
  quarantine: 'quarantine/',
  /** Row digest snapshots, one per business day and export type (functions/ingest/digests.ts). */
  digests: 'digests/',
} as const;

/** The table's key attributes (CDK and the local stack create the same table). */
export const TABLE_KEY = { partition: 'pk', sort: 'sk' } as const;

/** How each kind of item's partition key begins (IAM conditions on the leading key use them too). */
export const PARTITION_PREFIX = {
  row: 'ROW#',
  lease: 'LEASE#',
  delivery: 'DELIVERY#',
  agent: 'AGENT#',
  digest: 'DIGEST#',
  /** The console's audit log, per business day. */
  audit: 'AUDIT#',
} as const;

/** Every business day's status record (functions/common/day-status.ts), in one partition. */
export const DAY_STATUS_PARTITION = 'DAY_STATUS';

/** Every Windows agent's token hash, in one partition so that they can be listed. */
export const AGENT_TOKENS_PARTITION = 'AGENT_TOKENS';
