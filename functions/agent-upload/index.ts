import { loadBundledConfig } from '../common/bundled-config.ts';
import { createDynamoDbClient, createS3Client, resourcesFromEnvironment } from '../common/clients.ts';
import { logger } from '../common/observability.ts';
import { handleAgentRequest } from './endpoint.ts';

const deps = {
  config: loadBundledConfig(),
  s3: createS3Client(),
  dynamodb: createDynamoDbClient(),
  resources: resourcesFromEnvironment(),
};

/** The Lambda function URL event (payload format 2.0), as far as the endpoint reads it. */
interface FunctionUrlEvent {
  rawPath: string;
  requestContext: { http: { method: string } };
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
}

export const handler = async (event: FunctionUrlEvent, context: Parameters<typeof logger.addContext>[0]) => {
  logger.addContext(context);
  const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  const response = await handleAgentRequest(
    { method: event.requestContext.http.method, path: event.rawPath, headers: event.headers ?? {}, body },
    deps,
  );
  return { statusCode: response.status, headers: response.headers, body: response.body };
};
