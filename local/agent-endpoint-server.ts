import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_REQUEST_BODY_BYTES } from '../functions/agent-upload/contract.ts';
import { type AgentEndpointLimits, type AgentRequest, handleAgentRequest } from '../functions/agent-upload/endpoint.ts';
import type { Config } from '../functions/common/config.ts';
import type { LocalStack } from './stack.ts';

export interface LocalAgentEndpointOptions {
  config: Config;
  stack: LocalStack;
  /** Default: a free one. */
  port?: number;
  limits?: AgentEndpointLimits;
  now?: () => number;
}

export interface LocalAgentEndpoint {
  /** The endpoint's root, as the function URL would be. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * The Windows agent's endpoint on loopback: the same request handler as the Lambda function
 * URL, against the local stack's DynamoDB and S3, so presigned PUTs go to the S3 emulator.
 */
export async function startAgentEndpoint(options: LocalAgentEndpointOptions): Promise<LocalAgentEndpoint> {
  const { config, stack } = options;
  const deps = {
    config,
    s3: stack.clients.s3,
    dynamodb: stack.clients.dynamodb,
    resources: stack.resources,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.now ? { now: options.now } : {}),
  };
  const server = createServer((req, res) => {
    serve(req, res, (request) => handleAgentRequest(request, deps)).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (error as Error).message }));
    });
  });
  const port = await listen(server, options.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  handle: (request: AgentRequest) => ReturnType<typeof handleAgentRequest>,
): Promise<void> {
  // A function URL takes a body of up to 6 MB; reading a little past the endpoint's own limit is enough to refuse it.
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    const part = chunk.subarray(0, Math.max(0, MAX_REQUEST_BODY_BYTES + 1 - kept));
    chunks.push(part);
    kept += part.length;
  }
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value]),
  );
  const response = await handle({
    method: req.method ?? 'GET',
    path: url.pathname,
    headers,
    body: Buffer.concat(chunks).toString('utf8'),
  });
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
