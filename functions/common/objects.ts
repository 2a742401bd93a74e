import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** S3 metadata travels as HTTP headers: non-ASCII characters (and `%`) are percent-encoded. */
export function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]|%/gu, (ch) => encodeURIComponent(ch));
}

export function fromHeaderSafe(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
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
