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
  // A request line node:http cannot parse is answered 400 (431 when too long) and closed by
  // node:http itself; any target it passes on is read here without a URL parser that could throw
  // (`GET //`), as a function URL hands over the query alone.
  const server = createServer((request, response) => {
    const target = request.url ?? '';
    const query = new URLSearchParams(target.includes('?') ? target.slice(target.indexOf('?') + 1) : '');
    handleLinkRequest({ method: request.method ?? 'GET', query: Object.fromEntries(query) }, deps)
      .then((answer) => {
        response.writeHead(answer.status, answer.headers);
        response.end(answer.body);
      })
      .catch(() => response.destroy());
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
