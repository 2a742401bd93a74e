/** Where things live: every S3 key and DynamoDB key is formed here. */

/** Raw source files, content-addressed: the same CSV is stored once per business day. */
export function rawKey(date: string, type: string, sha256: string): string {
  return `raw/${date}/${type}/${sha256}.csv`;
}

export function rejectsKey(sourceKey: string): string {
  return `rejects/${sourceKey.replace(/^raw\//, '').replace(/\.csv$/, '')}.rejects.csv`;
}

export function rejectedFileKeys(sourceKey: string): { copy: string; reason: string } {
  const base = `rejects/${sourceKey.replace(/^raw\//, '').replace(/\.csv$/, '')}`;
  return { copy: `${base}.csv`, reason: `${base}.reason.txt` };
}

export function workbookName(date: string): string {
  return `Charlie-Intraday-${date}.xlsx`;
}

export function reportKey(date: string): string {
  return `reports/${date}/${workbookName(date)}`;
}

/** Rows of one export type and day are spread over `shards` partitions. */
export function rowPartition(date: string, type: string, shard: number): string {
  return `ROW#${date}#${type}#${shard}`;
}

/** A row's sort key: the UTC instant of its date column first, so a partition reads back in time order. */
export function rowSortKey(instantIso: string, identityHash: string): string {
  return `${instantIso}#${identityHash}`;
}

export function deliveryKey(date: string): { pk: string; sk: string } {
  return { pk: `DELIVERY#${date}`, sk: 'DAILY' };
}

/** The table's key attributes (CDK and the local stack create the same table). */
export const TABLE_KEY = { partition: 'pk', sort: 'sk' } as const;

/** The deployed state machine's name: the console and the `charlie` CLI find it by this. */
export function stateMachineName(config: { name: string }): string {
  return `${config.name}-daily-report`;
}
