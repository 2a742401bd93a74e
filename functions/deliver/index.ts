import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createClients, resourcesFromEnvironment } from '../shared/clients.ts';
import { loadBundledConfig } from '../shared/config.ts';
import type { DeliverInput, FailureInput } from '../shared/contracts.ts';
import { stageHandler } from '../shared/handler.ts';
import { metrics } from '../shared/observability.ts';
import { deliver, isFailure } from './deliver.ts';

const config = loadBundledConfig();
const { s3, sesv2, dynamodb } = createClients();
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
