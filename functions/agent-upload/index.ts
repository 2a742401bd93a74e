import type { APIGatewayProxyStructuredResultV2, Context, LambdaFunctionURLEvent } from 'aws-lambda';
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

export const handler = async (
  event: LambdaFunctionURLEvent,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  logger.addContext(context);
  const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  const response = await handleAgentRequest(
    { method: event.requestContext.http.method, path: event.rawPath, headers: event.headers ?? {}, body },
    deps,
  );
  return { statusCode: response.status, headers: response.headers, body: response.body };
};
