import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * S3 metadata travels as HTTP headers: non-ASCII characters (and `%`) are percent-encoded,
 * a lone surrogate (which no encoding can carry) as U+FFFD.
 */
export function headerSafe(value: string): string {
  return wellFormed(value).replace(/[^\x20-\x7e]|%/gu, (ch) => encodeURIComponent(ch));
}

/** The text with each lone surrogate replaced by U+FFFD, as UTF-8 encoders write it. */
export function wellFormed(value: string): string {
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

export function fromHeaderSafe(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** S3 allows 2 KB of user metadata, names and values together. */
export const maxMetadataBytes = 2048;

/** An encoded value longer than this is kept beside the object; the metadata holds its digest. */
export const maxMetadataValueBytes = 256;

/** The metadata field naming the fields kept beside the object. */
const besideField = 'lineage';

/** Where the values too long for an object's metadata are kept: a small JSON object beside it. */
export function lineageKey(key: string): string {
  return `${key}.lineage.json`;
}

export function isLineageKey(key: string): boolean {
  return key.endsWith('.lineage.json');
}

export interface BoundedMetadata {
  /** Header-safe, within maxMetadataBytes. */
  metadata: Record<string, string>;
  /** The full values the metadata holds only the digest of, to be stored at lineageKey (storeLineage). */
  beside?: Record<string, string>;
}

/**
 * Texts of any length or content as S3 metadata within its 2 KB: each value header-safe, and
 * a long one (or the longest, while the whole is over) replaced by `sha256:<hex>` of it, its
 * full text kept beside the object.
 */
export function boundedMetadata(texts: Record<string, string>): BoundedMetadata {
  const metadata = Object.fromEntries(Object.entries(texts).map(([name, text]) => [name, headerSafe(text)]));
  const beside: Record<string, string> = {};
  const digest = (name: string) => {
    beside[name] = wellFormed(texts[name] as string);
    metadata[name] = `sha256:${createHash('sha256').update(beside[name]).digest('hex')}`;
  };
  for (const [name, value] of Object.entries(metadata)) if (value.length > maxMetadataValueBytes) digest(name);
  const size = () => Object.entries(metadata).reduce((sum, [name, value]) => sum + name.length + value.length, 0);
  const reserve = besideField.length + Object.keys(texts).join(',').length;
  while (size() + reserve > maxMetadataBytes) {
    const [longest] = Object.entries(metadata)
      .filter(([name]) => !(name in beside))
      .sort((a, b) => b[1].length - a[1].length);
    if (!longest) break;
    digest(longest[0]);
  }
  if (Object.keys(beside).length === 0) return { metadata };
  return { metadata: { ...metadata, [besideField]: Object.keys(beside).join(',') }, beside };
}

/** Stores the values kept beside an object, before the object itself: a reader of its metadata finds them. */
export async function storeLineage(
  s3: S3Client,
  bucket: string,
  key: string,
  beside: Record<string, string> | undefined,
): Promise<void> {
  if (!beside) return;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: lineageKey(key),
      Body: JSON.stringify(beside),
      ContentType: 'application/json',
    }),
  );
}

/** An object's metadata as the texts given to boundedMetadata: decoded, long values read from beside it. */
export async function readMetadata(
  s3: S3Client,
  bucket: string,
  key: string,
  metadata: Record<string, string> | undefined,
): Promise<Record<string, string>> {
  const { [besideField]: besideNames, ...fields } = metadata ?? {};
  const texts = Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, fromHeaderSafe(value) ?? '']));
  if (!besideNames) return texts;
  let beside: Record<string, unknown>;
  try {
    beside = await readJsonObject<Record<string, unknown>>(s3, bucket, lineageKey(key));
  } catch (error) {
    // Lost beside its object: the digests stand for the values.
    if ((error as Error).name === 'NoSuchKey') return texts;
    throw error;
  }
  for (const name of besideNames.split(',')) {
    const value = beside[name];
    if (typeof value === 'string') texts[name] = value;
  }
  return texts;
}

/** An S3 object's JSON content. */
export async function readJsonObject<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse((await object.Body?.transformToString('utf-8')) ?? 'null') as T;
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as Error).name === 'NotFound' || status === 404) return false;
    throw error;
  }
}
