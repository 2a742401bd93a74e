import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ManifestEntryInput, ObjectRef, RunManifest } from '../common/contracts.ts';
import type { Invocation } from '../common/handler.ts';
import { logger, metrics } from '../common/observability.ts';
import type { IngestDeps } from './ingest.ts';
import { runManifestEntry } from './manifest-entry.ts';

export interface IngestStageDeps extends Omit<IngestDeps, 'lease'> {
  manifests: (ref: ObjectRef) => Promise<RunManifest>;
}

/** One iteration of the Map states; its result is stored in S3 (manifest-entry.ts), so the state gets null. */
export function ingestStage(deps: IngestStageDeps) {
  return async (event: ManifestEntryInput, invocation: Invocation) => {
    // The file's leases last until Lambda has certainly stopped this invocation (see lease.ts).
    const lease = { stopsAt: Date.now() + invocation.getRemainingTimeInMillis() };
    const outcome = await runManifestEntry(event, { ...deps, lease });
    if (outcome.kind === 'removed') {
      const removal = outcome.result;
      logger.info('undone file taken out', { ...removal });
      metrics.addDimension('exportType', removal.type);
      metrics.addMetric('RowsRemoved', MetricUnit.Count, removal.removed);
      return null;
    }
    const result = outcome.result;
    logger.info('file ingested', {
      key: result.key,
      type: result.type,
      counts: result.counts,
      tableReads: result.tableReads,
      fileRejected: result.fileRejected,
      quarantined: result.quarantined,
    });
    metrics.addDimension('exportType', result.type);
    for (const [counted, count] of Object.entries(result.counts))
      metrics.addMetric(`Rows${counted[0]?.toUpperCase()}${counted.slice(1)}`, MetricUnit.Count, count);
    // DynamoDB items read to decide the rows: the cost row digests save.
    metrics.addMetric('TableReads', MetricUnit.Count, result.tableReads ?? 0);
    return null;
  };
}
