import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../common/bundled-config.ts';
import {
  createDynamoDbClient,
  createS3Client,
  createSecretsClient,
  createSesClient,
  fromEnvironment,
  resourcesFromEnvironment,
} from '../common/clients.ts';
import type { DeliverInput, ExecutionStatusChange } from '../common/contracts.ts';
import { stageHandler } from '../common/handler.ts';
import { linkKeySecretExample, linkKeySecretName, readLinkKeySecret } from '../common/link-token.ts';
import { metrics } from '../common/observability.ts';
import { cachedSecret } from '../common/secrets.ts';
import { deliver, failureNotice, isStatusChange } from './deliver.ts';
import { readTeamsWebhookSecret, teamsWebhookSecretExample } from './teams.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
const sesv2 = createSesClient();
const dynamodb = createDynamoDbClient();
const resources = resourcesFromEnvironment();
const links = {
  baseUrl: fromEnvironment('LINK_BASE_URL'),
  // Read again every minute, as the link function does: a replaced key signs new links at once.
  signingKey: cachedSecret(
    createSecretsClient(),
    linkKeySecretName(config),
    readLinkKeySecret,
    linkKeySecretExample,
    60_000,
  ),
};
const configurationSet = fromEnvironment('SES_CONFIGURATION_SET');
// The webhook URL is a credential: read from its secret when a card is first posted, never logged.
const teams = config.teams
  ? {
      webhookUrl: cachedSecret(
        createSecretsClient(),
        config.teams.webhookSecretName,
        readTeamsWebhookSecret,
        teamsWebhookSecretExample,
      ),
    }
  : undefined;

/** The Deliver state's input, or an execution's failure from the EventBridge rule (lib/failure-notices.ts). */
export const handler = stageHandler(async (event: DeliverInput | ExecutionStatusChange) => {
  const input = isStatusChange(event) ? failureNotice(event) : event;
  const result = await deliver(input, {
    config,
    s3,
    sesv2,
    dynamodb,
    resources,
    links,
    configurationSet,
    ...(teams ? { teams } : {}),
  });
  if (isStatusChange(event)) {
    metrics.addMetric('FailureNoticesSent', MetricUnit.Count, 1);
  } else {
    metrics.addMetric('ReportsSent', MetricUnit.Count, result.sent ? 1 : 0);
    metrics.addMetric('ReportsAttached', MetricUnit.Count, result.attached ? 1 : 0);
    metrics.addMetric('MissingExportAlertsSent', MetricUnit.Count, result.alertMessageId ? 1 : 0);
    if (result.alerts) metrics.addMetric('ThresholdAlertsFired', MetricUnit.Count, result.alerts.fired);
  }
  return result;
});
