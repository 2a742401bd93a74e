import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../common/bundled-config.ts';
import { createS3Client, createSecretsClient, resourcesFromEnvironment } from '../common/clients.ts';
import { stageHandler } from '../common/handler.ts';
import { linkKeySecretExample, linkKeySecretName, readLinkKeySecret } from '../common/link-token.ts';
import { metrics } from '../common/observability.ts';
import { cachedSecret } from '../common/secrets.ts';
import { handleLinkRequest } from './link.ts';

/** The parts of a Lambda function URL event (payload format 2.0) the endpoint reads. */
interface FunctionUrlEvent {
  requestContext: { http: { method: string } };
  queryStringParameters?: Record<string, string | undefined>;
}

interface FunctionUrlResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

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

export const handler = stageHandler(async (event: FunctionUrlEvent): Promise<FunctionUrlResult> => {
  const response = await handleLinkRequest(
    { method: event.requestContext.http.method, query: event.queryStringParameters ?? {} },
    { s3, bucket: reportsBucket, signingKey, timeZone: config.timeZone },
  );
  metrics.addMetric(response.outcome === 'redirected' ? 'LinksFollowed' : 'LinksRefused', MetricUnit.Count, 1);
  return { statusCode: response.status, headers: response.headers, body: response.body };
});
