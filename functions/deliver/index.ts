import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../shared/bundled-config.ts';
import { createDynamoDbClient, createS3Client, createSesClient, resourcesFromEnvironment } from '../shared/clients.ts';
import type { DeliverInput, FailureInput } from '../shared/contracts.ts';
import { stageHandler } from '../shared/handler.ts';
import { metrics } from '../shared/observability.ts';
import { deliver, isFailure } from './deliver.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
const sesv2 = createSesClient();
const dynamodb = createDynamoDbClient();
const resources = resourcesFromEnvironment();

export const handler = stageHandler(async (event: DeliverInput | FailureInput) => {
  const result = await deliver(event, { config, s3, sesv2, dynamodb, resources });
  if (isFailure(event)) {
    metrics.addMetric('FailureNoticesSent', MetricUnit.Count, 1);
  } else {
    metrics.addMetric('ReportsSent', MetricUnit.Count, result.sent ? 1 : 0);
    metrics.addMetric('ReportsAttached', MetricUnit.Count, result.attached ? 1 : 0);
  }
  return result;
});
