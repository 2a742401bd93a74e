import { PutObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import type { Run, SourceFile } from '../common/contracts.ts';
import { excludedKey, rawKey } from '../common/keys.ts';
import { RunInputError } from './run.ts';

export interface DaySplit {
  /** The files to ingest. */
  files: SourceFile[];
  /** The excluded files, whose rows are taken out first. */
  undone: SourceFile[];
}

/**
 * Splits the day's raw files into those to ingest and those taken out: excluded before, or
 * named by this run's `undo` (a raw key, or a message id for every file of that email), which
 * are marked excluded here. The mark, not the run, is what keeps a file out, so a redrive or
 * a later run takes the same files out again, and deleting the mark puts a file back.
 * A source that matches no file of the day fails the run before anything is changed.
 */
export async function splitUndone(
  s3: S3Client,
  bucket: string,
  run: Run,
  listed: SourceFile[],
  undoneAt: string,
): Promise<DaySplit> {
  const excluded = await listExcluded(s3, bucket, run);
  const marking: SourceFile[] = [];
  for (const source of run.undo ?? []) {
    const matched = listed.filter((file) => file.key === source || sameMessage(file.messageId, source));
    if (matched.length === 0) {
      throw new RunInputError(
        `undo: no raw file of ${run.date} (${run.reports.join(', ')}) is "${source}". ` +
          'Give a key like raw/<date>/<type>/<sha256>.csv or a message id as shown in the file list of the execution output.',
      );
    }
    for (const file of matched) if (!excluded.has(file.key) && !marking.includes(file)) marking.push(file);
  }
  for (const file of marking) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: excludedKey(file.key),
        ContentType: 'application/json',
        Body: JSON.stringify({ key: file.key, messageId: file.messageId, executionId: run.executionId, undoneAt }),
      }),
    );
    excluded.add(file.key);
  }
  return {
    files: listed.filter((file) => !excluded.has(file.key)),
    undone: listed.filter((file) => excluded.has(file.key)),
  };
}

/** Raw keys of the run's day and types that carry an exclusion mark. */
async function listExcluded(s3: S3Client, bucket: string, run: Run): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const type of run.reports) {
    const prefix = excludedKey(rawKey(run.date, type, ''));
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: folder })) {
      for (const object of page.Contents ?? []) {
        if (object.Key) keys.add(object.Key.slice(excludedKey('').length));
      }
    }
  }
  return keys;
}

/** Message ids compare without their angle brackets and surrounding spaces. */
function sameMessage(messageId: string, source: string): boolean {
  const bare = (id: string) => id.trim().replace(/^<(.*)>$/, '$1');
  return bare(messageId) === bare(source);
}
