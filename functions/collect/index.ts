import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../shared/bundled-config.ts';
import { createS3Client, createSecretsClient, resourcesFromEnvironment } from '../shared/clients.ts';
import { stageHandler } from '../shared/handler.ts';
import { logger, metrics } from '../shared/observability.ts';
import { cachedSecret } from '../shared/secrets.ts';
import { type CollectEvent, collect } from './collect.ts';
import { createGraphMailSource, graphCredentialExample, readGraphCredential } from './graph.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
const secrets = createSecretsClient();
const resources = resourcesFromEnvironment();
const graphCredential = cachedSecret(secrets, config.mailbox.secretName, readGraphCredential, graphCredentialExample);
const mail = createGraphMailSource({ mailbox: config.mailbox, credential: graphCredential });

export const handler = stageHandler(async (event: CollectEvent) => {
  logger.appendKeys({ executionId: event.executionId });
  const result = await collect(event, { config, s3, resources, mail });
  logger.appendKeys({ businessDate: result.run.date });
  metrics.addMetric('MessagesSeen', MetricUnit.Count, result.mail.messagesSeen);
  metrics.addMetric('MessagesMatched', MetricUnit.Count, result.mail.messagesMatched);
  metrics.addMetric('MessagesIgnored', MetricUnit.Count, result.mail.messagesIgnored);
  metrics.addMetric('AttachmentsStored', MetricUnit.Count, result.mail.attachmentsStored);
  return result;
});
