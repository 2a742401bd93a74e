import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { quarantineCopyKey, quarantineKey, quarantinePrefix } from './keys.ts';
import { readJsonObject } from './objects.ts';

/**
 * An input that failed in a way a rerun would only repeat (a message the MIME reader cannot
 * read, a file whose reading threw): kept aside with its reason so the day goes on, and
 * skipped by later runs until its content changes (a new source id) or it is released.
 */
export interface QuarantineRecord {
  /**
   * What was quarantined, stable across reruns and changing with the content: a raw key
   * (`raw/<date>/<type>/<sha256>.csv`), or `message:<sha256 of the message's bytes>`.
   */
  source: string;
  /** The stage that quarantined it. */
  stage: 'collect' | 'ingest';
  /** The business date it belongs to. */
  date: string;
  reason: string;
  /** ISO instant. */
  at: string;
  /** Where the input's bytes were kept, when they were. */
  copy?: string;
  /** Human context: the email's subject, sender and message id, or the attachment's name. */
  detail?: Record<string, string>;
}

/** A source id as a fixed-length file name: sources may be long or hold any character. */
export function quarantineId(source: string): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 32);
}

/** Keeps the input aside (a copy of an S3 object, or bytes given) and writes its record. */
export async function quarantine(
  s3: S3Client,
  bucket: string,
  record: Omit<QuarantineRecord, 'copy'>,
  content?: { copyFrom: string } | { body: Uint8Array | string; name: string },
): Promise<QuarantineRecord> {
  const id = quarantineId(record.source);
  let copy: string | undefined;
  if (content && 'copyFrom' in content) {
    copy = quarantineCopyKey(record.date, id, content.copyFrom.split('/').pop() ?? 'input');
    // CopySource is a URL path: a key of any characters is percent-encoded, its slashes kept.
    const source = `${bucket}/${encodeURIComponent(content.copyFrom).replace(/%2F/g, '/')}`;
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: copy, CopySource: source }));
  } else if (content) {
    copy = quarantineCopyKey(record.date, id, content.name);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: copy, Body: content.body }));
  }
  const stored: QuarantineRecord = { ...record, reason: boundedReason(record.reason), ...(copy ? { copy } : {}) };
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: quarantineKey(record.date, id),
      Body: JSON.stringify(stored, null, 2),
      ContentType: 'application/json',
    }),
  );
  return stored;
}

/** The record of a quarantined source, or undefined when it is not (or no longer) quarantined. */
export async function findQuarantined(
  s3: S3Client,
  bucket: string,
  date: string,
  source: string,
): Promise<QuarantineRecord | undefined> {
  try {
    return await readJsonObject<QuarantineRecord>(s3, bucket, quarantineKey(date, quarantineId(source)));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as Error).name === 'NoSuchKey' || status === 404) return undefined;
    throw error;
  }
}

/** Every quarantine record of a business day. */
export async function listQuarantined(s3: S3Client, bucket: string, date: string): Promise<QuarantineRecord[]> {
  const records: QuarantineRecord[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: quarantinePrefix(date) })) {
    for (const object of page.Contents ?? []) {
      if (!object.Key?.endsWith('.json')) continue;
      records.push(await readJsonObject<QuarantineRecord>(s3, bucket, object.Key));
    }
  }
  return records;
}

/**
 * Releases quarantined sources of a day (named by source id, or `all`): their records are
 * deleted, so the next run reads them again. The kept copies stay, as evidence.
 * Returns the sources released.
 */
export async function releaseQuarantined(
  s3: S3Client,
  bucket: string,
  date: string,
  sources: readonly string[],
): Promise<string[]> {
  const records = await listQuarantined(s3, bucket, date);
  const chosen = sources.includes('all') ? records : records.filter((r) => sources.includes(r.source));
  for (const record of chosen) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: quarantineKey(date, quarantineId(record.source)) }));
  }
  return chosen.map((r) => r.source);
}

/** Reasons come from errors of any size: a record stays readable. */
function boundedReason(reason: string): string {
  return reason.length > 1_000 ? `${reason.slice(0, 1_000)}…` : reason;
}
