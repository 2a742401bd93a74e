import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../common/bundled-config.ts';
import { createS3Client, createSecretsClient, resourcesFromEnvironment } from '../common/clients.ts';
import { graphCredentialExample, readGraphCredential } from '../common/graph/credential.ts';
import { stageHandler } from '../common/handler.ts';
import { logger, metrics } from '../common/observability.ts';
import { cachedSecret } from '../common/secrets.ts';
import { type CollectEvent, collect } from './collect.ts';
import { createGraphMailSource } from './graph.ts';
import { collectOutput } from './manifest.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
const secrets = createSecretsClient();
const resources = resourcesFromEnvironment();
const graphCredential = cachedSecret(secrets, config.mailbox.secretName, readGraphCredential, graphCredentialExample);
const mail = createGraphMailSource({ mailbox: config.mailbox, credential: graphCredential });

export const handler = stageHandler(async (event: CollectEvent) => {
  logger.appendKeys({ executionId: event.executionId });
  // The source lives across warm invocations: this run's throttling is what it added.
  const throttledBefore = mail.throttled;
  const result = await collect(event, { config, s3, resources, mail });
  logger.appendKeys({ businessDate: result.run.date });
  metrics.addMetric('MessagesSeen', MetricUnit.Count, result.mail.messagesSeen);
  metrics.addMetric('MessagesMatched', MetricUnit.Count, result.mail.messagesMatched);
  metrics.addMetric('MessagesIgnored', MetricUnit.Count, result.mail.messagesIgnored);
  metrics.addMetric('AttachmentsStored', MetricUnit.Count, result.mail.attachmentsStored);
  metrics.addMetric('MessagesQuarantined', MetricUnit.Count, result.mail.messagesQuarantined ?? 0);
  metrics.addMetric('GraphThrottled', MetricUnit.Count, mail.throttled - throttledBefore);
  return collectOutput(s3, resources.dataBucket, result);
});
