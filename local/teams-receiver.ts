import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver took, as the workflow would get it. */
export interface TeamsPost {
  /** Where it was posted: the receiver's webhook URL. */
  url: string;
  receivedAt: string;
  contentType: string;
  /** The body parsed as JSON, or its text when it is not JSON. */
  body: unknown;
}

export interface TeamsReceiver {
  /** The webhook URL deliver posts to, in place of the Workflows trigger's. */
  url: string;
  /** Every post, in order; the caller may empty it. */
  posts: TeamsPost[];
  /** The HTTP status it answers with: 202 as the Workflows trigger does, or a failure to try. */
  status: number;
  stop(): Promise<void>;
}

/**
 * Stands in for a Teams Workflows webhook on loopback: records each post in memory and answers
 * 202 Accepted, as the "When a Teams webhook request is received" trigger does.
 */
export async function startTeamsReceiver(): Promise<TeamsReceiver> {
  const posts: TeamsPost[] = [];
  const receiver = { status: 202 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST') {
        response.writeHead(405).end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Kept as text: a test sees what was sent either way.
      }
      posts.push({
        url: `http://${request.headers.host}${request.url}`,
        receivedAt: new Date().toISOString(),
        contentType: request.headers['content-type'] ?? '',
        body,
      });
      response.writeHead(receiver.status).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/workflows/charlie/triggers/manual/paths/invoke`,
    posts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
