import type { IngestResult, ManifestEntryInput, ObjectRef, RemoveResult, RunManifest } from '../common/contracts.ts';
import { manifestFile, writeRunResult } from '../common/run-records.ts';
import { type IngestDeps, ingestFile } from './ingest.ts';
import { removeFileRows } from './remove.ts';

/** What one entry did, as stored in the run's results: an ingest's counts, or an undone file's removal. */
export type EntryOutcome = { kind: 'ingested'; result: IngestResult } | { kind: 'removed'; result: RemoveResult };

/**
 * One Map iteration: the manifest's file at the iteration's position is ingested (or, when
 * undone, its rows taken out), and the result stored in S3 for build. `manifests` reads the
 * manifest (run-records.ts `manifestReader`, which keeps it for the iterations that follow). The state gets nothing
 * back, so that the Map's output does not grow with the files of the day.
 */
export async function runManifestEntry(
  input: ManifestEntryInput,
  deps: IngestDeps & { manifests: (ref: ObjectRef) => Promise<RunManifest> },
): Promise<EntryOutcome> {
  const { run, index } = input;
  const remove = input.remove === true;
  const file = manifestFile(await deps.manifests(input.manifest), index, remove);
  const outcome: EntryOutcome = remove
    ? { kind: 'removed', result: await removeFileRows({ run, file, remove }, deps) }
    : { kind: 'ingested', result: await ingestFile({ run, file }, deps) };
  await writeRunResult(deps.s3, input.manifest.bucket, run, outcome.kind, index, outcome.result);
  return outcome;
}
