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
import { stageHandler } from '../common/handler.ts';
import { linkKeySecretExample, linkKeySecretName, readLinkKeySecret } from '../common/link-token.ts';
import { ENV } from '../common/names.ts';
import { cachedSecret } from '../common/secrets.ts';
import { deliverStage } from './stage.ts';
import { readTeamsWebhookSecret, teamsWebhookSecretExample } from './teams.ts';

const config = loadBundledConfig();

export const handler = stageHandler(
  deliverStage({
    config,
    // Every S3, SES and DynamoDB call of deliver.ts loops itself.
    s3: createS3Client({}, LOOPED_ATTEMPTS),
    sesv2: createSesClient({}, LOOPED_ATTEMPTS),
    dynamodb: createDynamoDbClient({}, LOOPED_ATTEMPTS),
    resources: resourcesFromEnvironment(),
    links: {
      baseUrl: fromEnvironment(ENV.linkBaseUrl),
      // Read again every minute, as the link function does: a replaced key signs new links at once.
      signingKey: cachedSecret(
        createSecretsClient(),
        linkKeySecretName(config),
        readLinkKeySecret,
        linkKeySecretExample,
        60_000,
      ),
    },
    configurationSet: fromEnvironment(ENV.sesConfigurationSet),
    // The webhook URL is a credential: read from its secret when a card is first posted, never logged.
    ...(config.teams
      ? {
          teams: {
            webhookUrl: cachedSecret(
              createSecretsClient(),
              config.teams.webhookSecretName,
              readTeamsWebhookSecret,
              teamsWebhookSecretExample,
            ),
          },
        }
      : {}),
  }),
);
