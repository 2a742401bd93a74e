/**
 * A stored row: one version of one row identity, as ingest writes it to DynamoDB and
 * build reads it back. Key: `pk` = rowPartition(date, type, shard), `sk` = rowSortKey(…):
 * the UTC instant of the type's date column, then the identity hash, so that each partition
 * reads back in time order and shards can be merged without sorting a whole day in memory.
 */

/** A typed cell: datetime → local ISO with offset; duration_ms → number; count → integer; flag → boolean; text → string; empty → null. */
export type CellValue = string | number | boolean | null;

export interface RowLineage {
  /** S3 key of the source file. */
  key: string;
  messageId: string;
  receivedAt: string;
  exportedAt: string;
  attachmentName: string;
}

export interface StoredRow {
  pk: string;
  sk: string;
  type: string;
  /** Business date `YYYY-MM-DD`: the local date of the type's dateColumn. */
  date: string;
  /** Configured columns by name. */
  values: Record<string, CellValue>;
  /** Columns present in the file but not configured, kept as text. */
  extra?: Record<string, string>;
  /** The export marked this row final (complete interval, full export). */
  complete: boolean;
  /** When the export holding this version was made (ISO instant): newer wins. */
  exportedAt: string;
  /** Hash of values and extra: equal digests mean an unchanged row. */
  digest: string;
  source: RowLineage;
  ingestedAt: string;
  /** When DynamoDB's TTL deletes the row: epoch seconds, `storage.keepDays` after its business date. */
  expiresAt: number;
}
