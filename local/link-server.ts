import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleLinkRequest, type LinkDeps } from '../functions/link/link.ts';

export interface LinkServer {
  /** What deliver puts in front of the token, as it would the function URL. */
  baseUrl: string;
  stop(): Promise<void>;
}

/** The download-link endpoint on loopback: the handler the Lambda function URL runs, over node:http. */
export async function startLinkServer(deps: LinkDeps): Promise<LinkServer> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    void handleLinkRequest({ method: request.method ?? 'GET', query: Object.fromEntries(url.searchParams) }, deps).then(
      (answer) => {
        response.writeHead(answer.status, answer.headers);
        response.end(answer.body);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
