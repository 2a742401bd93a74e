import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../common/bundled-config.ts';
import { createDynamoDbClient, createS3Client, LOOPED_ATTEMPTS, resourcesFromEnvironment } from '../common/clients.ts';
import type { ManifestEntryInput, RowCounts } from '../common/contracts.ts';
import { stageHandler } from '../common/handler.ts';
import { EXPORT_TYPE_DIMENSION, METRIC, ROW_COUNT_METRIC } from '../common/names.ts';
import { logger, metrics } from '../common/observability.ts';
import { manifestReader } from '../common/run-records.ts';
import { runManifestEntry } from './manifest-entry.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
// Every row, lease and removal request loops in store.ts, lease.ts and remove.ts.
const dynamodb = createDynamoDbClient({}, LOOPED_ATTEMPTS);
const resources = resourcesFromEnvironment();
const manifests = manifestReader(s3);

/** One Map iteration; its result is stored in S3 (manifest-entry.ts), so the state gets null. */
export const handler = stageHandler(async (event: ManifestEntryInput, invocation) => {
  // The file's leases last until Lambda has certainly stopped this invocation (see lease.ts).
  const lease = { stopsAt: Date.now() + invocation.getRemainingTimeInMillis() };
  const outcome = await runManifestEntry(event, { config, s3, dynamodb, resources, lease, manifests });
  if (outcome.kind === 'removed') {
    const removal = outcome.result;
    logger.info('undone file taken out', { ...removal });
    metrics.addDimension(EXPORT_TYPE_DIMENSION, removal.type);
    metrics.addMetric(METRIC.rowsRemoved, MetricUnit.Count, removal.removed);
    return null;
  }
  const result = outcome.result;
  logger.info('file ingested', {
    key: result.key,
    type: result.type,
    counts: result.counts,
    fileRejected: result.fileRejected,
    quarantined: result.quarantined,
  });
  metrics.addDimension(EXPORT_TYPE_DIMENSION, result.type);
  for (const [counted, count] of Object.entries(result.counts) as [keyof RowCounts, number][])
    metrics.addMetric(ROW_COUNT_METRIC[counted], MetricUnit.Count, count);
  return null;
});
