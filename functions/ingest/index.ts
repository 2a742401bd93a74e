import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { createClients, resourcesFromEnvironment } from '../shared/clients.ts';
import { loadBundledConfig } from '../shared/config.ts';
import type { IngestInput } from '../shared/contracts.ts';
import { logger, metrics } from '../shared/observability.ts';
import { ingestFile } from './ingest.ts';

const config = loadBundledConfig();
const { s3, dynamodb } = createClients();
const resources = resourcesFromEnvironment();

export const handler = middy(async (event: IngestInput) => {
  logger.appendKeys({ executionId: event.run.executionId, businessDate: event.run.date });
  const result = await ingestFile(event, { config, s3, dynamodb, resources });
  logger.info('ingested', {
    key: result.key,
    type: result.type,
    counts: result.counts,
    fileRejected: result.fileRejected,
  });
  metrics.addDimension('exportType', result.type);
  for (const [outcome, count] of Object.entries(result.counts))
    metrics.addMetric(`rows_${outcome}`, MetricUnit.Count, count);
  return result;
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
