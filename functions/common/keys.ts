/** Where things live: every S3 key and DynamoDB key is formed here. */

/** Raw source files, content-addressed: the same CSV is stored once per business day. */
export function rawKey(date: string, type: string, sha256: string): string {
  return `raw/${date}/${type}/${sha256}.csv`;
}

/** What a raw file's key names, or undefined when the text is not one. */
export function rawKeyParts(key: string): { date: string; type: string; sha256: string } | undefined {
  const match = /^raw\/(\d{4}-\d{2}-\d{2})\/([^/]+)\/([0-9a-f]{64})\.csv$/.exec(key);
  return match ? { date: match[1] as string, type: match[2] as string, sha256: match[3] as string } : undefined;
}

/** The mark that takes a raw file out of its day (undo): kept beside the untouched source, and removable to put it back. */
export function excludedKey(sourceKey: string): string {
  return `excluded/${sourceKey}`;
}

export function rejectsKey(sourceKey: string): string {
  return `rejects/${sourceKey.replace(/^raw\//, '').replace(/\.csv$/, '')}.rejects.csv`;
}

export function rejectedFileKeys(sourceKey: string): { copy: string; reason: string } {
  const base = `rejects/${sourceKey.replace(/^raw\//, '').replace(/\.csv$/, '')}`;
  return { copy: `${base}.csv`, reason: `${base}.reason.txt` };
}

/** A business day's quarantine records (functions/common/quarantine.ts): one JSON object per source. */
export function quarantinePrefix(date: string): string {
  return `quarantine/${date}/`;
}

export function quarantineKey(date: string, id: string): string {
  return `${quarantinePrefix(date)}${id}.json`;
}

/** Where a quarantined input's bytes are kept, beside the other rejects. */
export function quarantineCopyKey(date: string, id: string, name: string): string {
  const safe = name.replace(/[^\w.-]+/g, '_').slice(-100) || 'input';
  return `rejects/quarantine/${date}/${id}/${safe}`;
}

/**
 * What one execution keeps beside its states (functions/common/run-records.ts), under the
 * execution's name: a redrive keeps its name and finds them again, a rerun is a new name.
 */
export function runPrefix(date: string, executionId: string): string {
  return `runs/${date}/${executionName(executionId)}/`;
}

/** The name at the end of an execution ARN (`arn:aws:states:…:execution:<machine>:<name>`). */
function executionName(executionId: string): string {
  return executionId.slice(executionId.lastIndexOf(':') + 1);
}

export function runManifestKey(date: string, executionId: string): string {
  return `${runPrefix(date, executionId)}manifest.json`;
}

/** Where the results of one kind of the run's Map iterations are, one object per manifest entry. */
export function runResultsPrefix(date: string, executionId: string, kind: 'ingested' | 'removed'): string {
  return `${runPrefix(date, executionId)}${kind}/`;
}

export function runResultKey(date: string, executionId: string, kind: 'ingested' | 'removed', index: number): string {
  return `${runResultsPrefix(date, executionId, kind)}${String(index).padStart(5, '0')}.json`;
}

/** `Charlie-Intraday-2026-03-09.xlsx`; an intraday run's adds its local time: `Charlie-Intraday-2026-03-09-1400.xlsx`. */
export function workbookName(date: string, intradayTime?: string): string {
  return `Charlie-Intraday-${date}${intradayTime ? `-${intradayTime}` : ''}.xlsx`;
}

export function reportKey(date: string, intradayTime?: string): string {
  return `reports/${date}/${workbookName(date, intradayTime)}`;
}

/** How each kind of item's partition key begins (IAM conditions on the leading key use them too). */
export const PARTITION_PREFIX = {
  row: 'ROW#',
  lease: 'LEASE#',
  delivery: 'DELIVERY#',
  agent: 'AGENT#',
  digest: 'DIGEST#',
} as const;

/** Rows of one export type and day are spread over `shards` partitions. */
export function rowPartition(date: string, type: string, shard: number): string {
  return `${PARTITION_PREFIX.row}${date}#${type}#${shard}`;
}

/** The one writer of a business day's rows of one export type (functions/ingest/lease.ts). */
export function leaseKey(date: string, type: string): { pk: string; sk: string } {
  return { pk: `${PARTITION_PREFIX.lease}${date}#${type}`, sk: 'LEASE' };
}

/**
 * The generation of a business day's row digests of one export type (functions/ingest/digests.ts):
 * the snapshot in S3 is trusted only while it carries the generation recorded here.
 */
export function digestGenerationKey(date: string, type: string): { pk: string; sk: string } {
  return { pk: `${PARTITION_PREFIX.digest}${date}#${type}`, sk: 'GENERATION' };
}

/** The snapshot of what is stored for a business day's rows of one export type (functions/ingest/digests.ts). */
export function rowDigestsKey(date: string, type: string): string {
  return `digests/${date}/${type}.gz`;
}

/** A row's sort key: the UTC instant of its date column first, so a partition reads back in time order. */
export function rowSortKey(instantIso: string, identityHash: string): string {
  return `${instantIso}#${identityHash}`;
}

/**
 * What was sent for a day, one item per slot: `DAILY` (the day's report), `INTRADAY#<execution>`
 * (a report of the day so far), `MISSING` (the admins' missing-exports alert).
 */
export function deliveryKey(date: string, slot = 'DAILY'): { pk: string; sk: string } {
  return { pk: `${PARTITION_PREFIX.delivery}${date}`, sk: slot };
}

/** Every message sent for a day, kept as its history beside the slots. */
export function sentMessageKey(date: string, sentAt: string, messageId: string): { pk: string; sk: string } {
  return { pk: `${PARTITION_PREFIX.delivery}${date}`, sk: `SENT#${sentAt}#${messageId}` };
}

/** Every Windows agent's token hash, in one partition so that they can be listed. */
export const AGENT_TOKENS_PARTITION = 'AGENT_TOKENS';

export function agentTokenKey(agentId: string): { pk: string; sk: string } {
  return { pk: AGENT_TOKENS_PARTITION, sk: agentId };
}

/** An agent's request count in one UTC minute (`YYYY-MM-DDTHH:MM`), for its rate limit. */
export function agentRateKey(agentId: string, minute: string): { pk: string; sk: string } {
  return { pk: `${PARTITION_PREFIX.agent}${agentId}`, sk: `RATE#${minute}` };
}

/** Where an agent's pushed file goes: its own folder under the inbox, then receipt time and content hash. */
export function agentInboxKey(
  prefix: string,
  agentId: string,
  receivedAt: string,
  sha256: string,
  objectName: string,
): string {
  const compact = new Date(receivedAt).toISOString().replace(/[-:]|\.\d{3}/g, '');
  return `${prefix}${agentId}/${compact}_${sha256}/${objectName}`;
}

/** The table's key attributes (CDK and the local stack create the same table). */
export const TABLE_KEY = { partition: 'pk', sort: 'sk' } as const;

/** The deployed state machine's name: the console and the `charlie` CLI find it by this. */
export function stateMachineName(config: { name: string }): string {
  return `${config.name}-daily-report`;
}
