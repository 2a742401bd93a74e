import { loadBundledConfig } from '../common/bundled-config.ts';
import {
  createDynamoDbClient,
  createS3Client,
  createSecretsClient,
  createSesClient,
  fromEnvironment,
  resourcesFromEnvironment,
} from '../common/clients.ts';
import { stageHandler } from '../common/handler.ts';
import { linkKeySecretExample, linkKeySecretName, readLinkKeySecret } from '../common/link-token.ts';
import { cachedSecret } from '../common/secrets.ts';
import { deliverStage } from './stage.ts';

const config = loadBundledConfig();

export const handler = stageHandler(
  deliverStage({
    config,
    s3: createS3Client(),
    sesv2: createSesClient(),
    dynamodb: createDynamoDbClient(),
    resources: resourcesFromEnvironment(),
    links: {
      baseUrl: fromEnvironment('LINK_BASE_URL'),
      // Read again every minute, as the link function does: a replaced key signs new links at once.
      signingKey: cachedSecret(
        createSecretsClient(),
        linkKeySecretName(config),
        readLinkKeySecret,
        linkKeySecretExample,
        60_000,
      ),
    },
    configurationSet: fromEnvironment('SES_CONFIGURATION_SET'),
  }),
);
