import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../common/bundled-config.ts';
import { createDynamoDbClient, createS3Client, resourcesFromEnvironment } from '../common/clients.ts';
import type { IngestInput } from '../common/contracts.ts';
import { stageHandler } from '../common/handler.ts';
import { logger, metrics } from '../common/observability.ts';
import { ingestFile } from './ingest.ts';
import { removeFileRows } from './remove.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
const dynamodb = createDynamoDbClient();
const resources = resourcesFromEnvironment();

export const handler = stageHandler(async (event: IngestInput, invocation) => {
  // The file's leases last until Lambda has certainly stopped this invocation (see lease.ts).
  const lease = { stopsAt: Date.now() + invocation.getRemainingTimeInMillis() };
  if (event.remove) {
    const removal = await removeFileRows(event, { config, s3, dynamodb, resources, lease });
    logger.info('undone file taken out', { ...removal });
    metrics.addDimension('exportType', removal.type);
    metrics.addMetric('RowsRemoved', MetricUnit.Count, removal.removed);
    return removal;
  }
  const result = await ingestFile(event, { config, s3, dynamodb, resources, lease });
  logger.info('file ingested', {
    key: result.key,
    type: result.type,
    counts: result.counts,
    fileRejected: result.fileRejected,
    quarantined: result.quarantined,
  });
  metrics.addDimension('exportType', result.type);
  for (const [outcome, count] of Object.entries(result.counts))
    metrics.addMetric(`Rows${outcome[0]?.toUpperCase()}${outcome.slice(1)}`, MetricUnit.Count, count);
  return result;
});
