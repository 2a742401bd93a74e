import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../common/bundled-config.ts';
import { createDynamoDbClient, createS3Client, resourcesFromEnvironment } from '../common/clients.ts';
import type { ManifestEntryInput } from '../common/contracts.ts';
import { stageHandler } from '../common/handler.ts';
import { logger, metrics } from '../common/observability.ts';
import { manifestReader } from '../common/run-records.ts';
import { runManifestEntry } from './manifest-entry.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
const dynamodb = createDynamoDbClient();
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
});
