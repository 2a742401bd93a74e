import { PutObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { mapPool } from '../collect/concurrency.ts';
import type { ObjectRef, Run, RunManifest, SourceFile } from './contracts.ts';
import { runManifestKey, runResultKey, runResultsPrefix } from './keys.ts';
import { readJsonObject } from './objects.ts';

/**
 * What an execution keeps in S3 instead of in its states, whose data Step Functions caps at
 * 256 KB: the manifest of the files it ingests and takes out (written by collect), and one
 * result per file (written by each ingest, read by build). Keyed by the execution's name, so
 * a redrive finds them again and a rerun starts afresh.
 */

export type ResultKind = 'ingested' | 'removed';

const readConcurrency = 16;

export async function writeManifest(s3: S3Client, bucket: string, manifest: RunManifest): Promise<ObjectRef> {
  const ref = { bucket, key: runManifestKey(manifest.date, manifest.executionId) };
  await writeJson(s3, ref, manifest);
  return ref;
}

export function readManifest(s3: S3Client, ref: ObjectRef): Promise<RunManifest> {
  return readJson<RunManifest>(s3, ref);
}

/**
 * Reads manifests, keeping the last one read: every iteration of a run reads the same one,
 * and a warm function serves many of them. A manifest never changes once an iteration has
 * read it (collect writes it once per execution, before any iteration starts).
 */
export function manifestReader(s3: S3Client): (ref: ObjectRef) => Promise<RunManifest> {
  let last: { key: string; manifest: Promise<RunManifest> } | undefined;
  return (ref) => {
    const key = `${ref.bucket}/${ref.key}`;
    if (last?.key !== key) {
      const manifest = readManifest(s3, ref);
      // A failed read is not kept: the next iteration reads again.
      manifest.catch(() => {
        if (last?.manifest === manifest) last = undefined;
      });
      last = { key, manifest };
    }
    return last.manifest;
  };
}

/** The manifest's file at a position of `files`, or of `undone` when it is taken out. */
export function manifestFile(manifest: RunManifest, index: number, remove: boolean): SourceFile {
  const list = remove ? manifest.undone : manifest.files;
  const file = list[index];
  if (!file) {
    throw new Error(
      `The manifest of ${manifest.executionId} has no ${remove ? 'undone' : 'files'} entry ${index} (it has ${list.length})`,
    );
  }
  return file;
}

/** Stores the result of one manifest entry: written again, whole, when the entry runs again. */
export function writeRunResult(
  s3: S3Client,
  bucket: string,
  run: Pick<Run, 'date' | 'executionId'>,
  kind: ResultKind,
  index: number,
  result: unknown,
): Promise<void> {
  return writeJson(s3, { bucket, key: runResultKey(run.date, run.executionId, kind, index) }, result);
}

/** Every stored result of one kind of the run, in manifest order. */
export async function readRunResults<T>(
  s3: S3Client,
  bucket: string,
  run: Pick<Run, 'date' | 'executionId'>,
  kind: ResultKind,
): Promise<T[]> {
  const keys: string[] = [];
  const Prefix = runResultsPrefix(run.date, run.executionId, kind);
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix })) {
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
  }
  // Zero-padded positions: the listing's order is the manifest's.
  return mapPool(keys.sort(), readConcurrency, (key) => readJson<T>(s3, { bucket, key }));
}

async function writeJson(s3: S3Client, ref: ObjectRef, value: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: ref.bucket,
      Key: ref.key,
      Body: JSON.stringify(value),
      ContentType: 'application/json',
    }),
  );
}

function readJson<T>(s3: S3Client, ref: ObjectRef): Promise<T> {
  return readJsonObject<T>(s3, ref.bucket, ref.key);
}
