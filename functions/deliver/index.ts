import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../common/bundled-config.ts';
import {
  createDynamoDbClient,
  createS3Client,
  createSecretsClient,
  createSesClient,
  fromEnvironment,
  LOOPED_ATTEMPTS,
  resourcesFromEnvironment,
} from '../common/clients.ts';
import type { DeliverInput, ExecutionStatusChange } from '../common/contracts.ts';
import { stageHandler } from '../common/handler.ts';
import { linkKeySecretExample, linkKeySecretName, readLinkKeySecret } from '../common/link-token.ts';
import { ENV, METRIC } from '../common/names.ts';
import { metrics } from '../common/observability.ts';
import { cachedSecret } from '../common/secrets.ts';
import { deliver, failureNotice, isStatusChange } from './deliver.ts';

const config = loadBundledConfig();
// Every S3, SES and DynamoDB call of deliver.ts loops itself.
const s3 = createS3Client({}, LOOPED_ATTEMPTS);
const sesv2 = createSesClient({}, LOOPED_ATTEMPTS);
const dynamodb = createDynamoDbClient({}, LOOPED_ATTEMPTS);
const resources = resourcesFromEnvironment();
const links = {
  baseUrl: fromEnvironment(ENV.linkBaseUrl),
  // Read again every minute, as the link function does: a replaced key signs new links at once.
  signingKey: cachedSecret(
    createSecretsClient(),
    linkKeySecretName(config),
    readLinkKeySecret,
    linkKeySecretExample,
    60_000,
  ),
};
const configurationSet = fromEnvironment(ENV.sesConfigurationSet);

/** The Deliver state's input, or an execution's failure from the EventBridge rule (lib/failure-notices.ts). */
export const handler = stageHandler(async (event: DeliverInput | ExecutionStatusChange) => {
  const input = isStatusChange(event) ? failureNotice(event) : event;
  const result = await deliver(input, { config, s3, sesv2, dynamodb, resources, links, configurationSet });
  if (isStatusChange(event)) {
    metrics.addMetric(METRIC.failureNoticesSent, MetricUnit.Count, 1);
  } else {
    metrics.addMetric(METRIC.reportsSent, MetricUnit.Count, result.sent ? 1 : 0);
    metrics.addMetric(METRIC.reportsAttached, MetricUnit.Count, result.attached ? 1 : 0);
    metrics.addMetric(METRIC.missingExportAlertsSent, MetricUnit.Count, result.alertMessageId ? 1 : 0);
  }
  return result;
});
