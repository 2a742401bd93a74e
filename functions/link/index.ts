import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyStructuredResultV2, LambdaFunctionURLEvent } from 'aws-lambda';
import { loadBundledConfig } from '../common/bundled-config.ts';
import { createS3Client, createSecretsClient, resourcesFromEnvironment } from '../common/clients.ts';
import { stageHandler } from '../common/handler.ts';
import { linkKeySecretExample, linkKeySecretName, readLinkKeySecret } from '../common/link-token.ts';
import { METRIC } from '../common/names.ts';
import { metrics } from '../common/observability.ts';
import { cachedSecret } from '../common/secrets.ts';
import { handleLinkRequest } from './link.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
const { reportsBucket } = resourcesFromEnvironment();
// Read again every minute: replacing the key revokes the links within a minute.
const signingKey = cachedSecret(
  createSecretsClient(),
  linkKeySecretName(config),
  readLinkKeySecret,
  linkKeySecretExample,
  60_000,
);

export const handler = stageHandler(
  async (event: LambdaFunctionURLEvent): Promise<APIGatewayProxyStructuredResultV2> => {
    const response = await handleLinkRequest(
      { method: event.requestContext.http.method, query: event.queryStringParameters ?? {} },
      { s3, bucket: reportsBucket, signingKey, timeZone: config.timeZone },
    );
    metrics.addMetric(
      response.outcome === 'redirected' ? METRIC.linksFollowed : METRIC.linksRefused,
      MetricUnit.Count,
      1,
    );
    return { statusCode: response.status, headers: response.headers, body: response.body };
  },
);
