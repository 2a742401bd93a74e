import { loadBundledConfig } from '../common/bundled-config.ts';
import { createS3Client, createSecretsClient, resourcesFromEnvironment } from '../common/clients.ts';
import { stageHandler } from '../common/handler.ts';
import { cachedSecret } from '../common/secrets.ts';
import { createGraphMailSource, graphCredentialExample, readGraphCredential } from './graph.ts';
import { collectStage } from './stage.ts';

const config = loadBundledConfig();
const graphCredential = cachedSecret(
  createSecretsClient(),
  config.mailbox.secretName,
  readGraphCredential,
  graphCredentialExample,
);

export const handler = stageHandler(
  collectStage({
    config,
    s3: createS3Client(),
    resources: resourcesFromEnvironment(),
    mail: createGraphMailSource({ mailbox: config.mailbox, credential: graphCredential }),
  }),
);
