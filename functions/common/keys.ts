/** Where things live: every S3 key and DynamoDB key is formed here, from the prefixes in names.ts. */

import { AGENT_TOKENS_PARTITION, DAY_STATUS_PARTITION, PARTITION_PREFIX, PREFIX } from './names.ts';

/** Raw source files, content-addressed: the same CSV is stored once per business day. */
export function rawKey(date: string, type: string, sha256: string): string {
  return `${PREFIX.raw}${date}/${type}/${sha256}.csv`;
}

/** What a raw file's key names, or undefined when the text is not one. */
export function rawKeyParts(key: string): { date: string; type: string; sha256: string } | undefined {
  if (!key.startsWith(PREFIX.raw)) return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})\/([^/]+)\/([0-9a-f]{64})\.csv$/.exec(key.slice(PREFIX.raw.length));
  return match ? { date: match[1] as string, type: match[2] as string, sha256: match[3] as string } : undefined;
}

/** The mark that takes a raw file out of its day (undo): kept beside the untouched source, and removable to put it back. */
export function excludedKey(sourceKey: string): string {
  return `${PREFIX.excluded}${sourceKey}`;
}

/** Where a raw file's rejects go: its key under rejects/ instead of raw/, without `.csv`. */
function rejectsBase(sourceKey: string): string {
  const name = sourceKey.startsWith(PREFIX.raw) ? sourceKey.slice(PREFIX.raw.length) : sourceKey;
  return `${PREFIX.rejects}${name.replace(/\.csv$/, '')}`;
}

export function rejectsKey(sourceKey: string): string {
  return `${rejectsBase(sourceKey)}.rejects.csv`;
}

export function rejectedFileKeys(sourceKey: string): { copy: string; reason: string } {
  const base = rejectsBase(sourceKey);
  return { copy: `${base}.csv`, reason: `${base}.reason.txt` };
}

/** A business day's quarantine records (functions/common/quarantine.ts): one JSON object per source. */
export function quarantinePrefix(date: string): string {
  return `${PREFIX.quarantine}${date}/`;
}

export function quarantineKey(date: string, id: string): string {
  return `${quarantinePrefix(date)}${id}.json`;
}

/** Where a quarantined input's bytes are kept, beside the other rejects. */
export function quarantineCopyKey(date: string, id: string, name: string): string {
  const safe = name.replace(/[^\w.-]+/g, '_').slice(-100) || 'input';
  return `${PREFIX.rejects}${PREFIX.quarantine}${date}/${id}/${safe}`;
}

/**
 * What one execution keeps beside its states (functions/common/run-records.ts), under the
 * execution's name: a redrive keeps its name and finds them again, a rerun is a new name.
 */
export function runPrefix(date: string, executionId: string): string {
  return `${PREFIX.runs}${date}/${executionName(executionId)}/`;
}

/** The name at the end of an execution ARN (`arn:aws:states:…:execution:<machine>:<name>`). */
function executionName(executionId: string): string {
  return executionId.slice(executionId.lastIndexOf(':') + 1);
}

export function runManifestKey(date: string, executionId: string): string {
  return `${runPrefix(date, executionId)}manifest.json`;
}

/** What the run's build found in the day, for the console (functions/common/day-view.ts). */
export function runDayViewKey(date: string, executionId: string): string {
  return `${runPrefix(date, executionId)}day.json`;
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
  return `${PREFIX.reports}${date}/${workbookName(date, intradayTime)}`;
}

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
  return `${PREFIX.digests}${date}/${type}.gz`;
}

/** A row's sort key: the UTC instant of its date column first, so a partition reads back in time order. */
export function rowSortKey(instantIso: string, identityHash: string): string {
  return `${instantIso}#${identityHash}`;
}

/**
 * What was sent for a day, one item per slot: `DAILY` (the day's report), `INTRADAY#<execution>`
 * (a report of the day so far), `MISSING` (the admins' missing-exports alert), `ALERTS` (the
 * threshold alerts told, functions/deliver/alerts.ts).
 */
export function deliveryKey(date: string, slot = 'DAILY'): { pk: string; sk: string } {
  return { pk: `${PARTITION_PREFIX.delivery}${date}`, sk: slot };
}

/** Every message sent for a day, kept as its history beside the slots. */
export function sentMessageKey(date: string, sentAt: string, messageId: string): { pk: string; sk: string } {
  return { pk: `${PARTITION_PREFIX.delivery}${date}`, sk: `SENT#${sentAt}#${messageId}` };
}

/** Each business day's status (functions/common/day-status.ts), in one partition so that a range of days is one query. */
export function dayStatusKey(date: string): { pk: string; sk: string } {
  return { pk: DAY_STATUS_PARTITION, sk: date };
}

/** The console's audit log: one partition per business day acted on, its entries in time order. */
export function auditKey(date: string, at: string, id: string): { pk: string; sk: string } {
  return { pk: `${PARTITION_PREFIX.audit}${date}`, sk: `${at}#${id}` };
}

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

/** The deployed state machine's name: the console and the `charlie` CLI find it by this. */
export function stateMachineName(config: { name: string }): string {
  return `${config.name}-daily-report`;
}
