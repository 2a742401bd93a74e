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
import { graphCredentialExample, readGraphCredential } from '../common/graph/credential.ts';
import { stageHandler } from '../common/handler.ts';
import { linkKeySecretExample, linkKeySecretName, readLinkKeySecret } from '../common/link-token.ts';
import { metrics } from '../common/observability.ts';
import { cachedSecret } from '../common/secrets.ts';
import { deliver, failureNotice, isStatusChange } from './deliver.ts';
import { createSharePointUploader } from './sharepoint.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
const sesv2 = createSesClient();
const dynamodb = createDynamoDbClient();
const resources = resourcesFromEnvironment();
const secrets = createSecretsClient();
const links = {
  baseUrl: fromEnvironment('LINK_BASE_URL'),
  // Read again every minute, as the link function does: a replaced key signs new links at once.
  signingKey: cachedSecret(secrets, linkKeySecretName(config), readLinkKeySecret, linkKeySecretExample, 60_000),
};
const configurationSet = fromEnvironment('SES_CONFIGURATION_SET');
// The mailbox's app registration and secret upload the workbook too (Sites.Selected on the one site).
const sharepoint =
  config.sharepoint &&
  createSharePointUploader({
    sharepoint: config.sharepoint,
    mailbox: config.mailbox,
    credential: cachedSecret(secrets, config.mailbox.secretName, readGraphCredential, graphCredentialExample),
    s3,
  });

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
    ...(sharepoint ? { sharepoint } : {}),
  });
  if (isStatusChange(event)) {
    metrics.addMetric('FailureNoticesSent', MetricUnit.Count, 1);
  } else {
    metrics.addMetric('ReportsSent', MetricUnit.Count, result.sent ? 1 : 0);
    metrics.addMetric('ReportsAttached', MetricUnit.Count, result.attached ? 1 : 0);
    metrics.addMetric('MissingExportAlertsSent', MetricUnit.Count, result.alertMessageId ? 1 : 0);
    if (result.sharepoint) {
      metrics.addMetric('SharePointCopiesFailed', MetricUnit.Count, result.sharepoint.uploaded ? 0 : 1);
    }
  }
  return result;
});
