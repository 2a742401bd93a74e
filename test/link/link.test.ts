import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reportKey } from '../../functions/common/keys.ts';
import { type LinkClaims, linkUrl, signLinkToken } from '../../functions/common/link-token.ts';
import { logger } from '../../functions/common/observability.ts';
import { downloadUrlSeconds } from '../../functions/link/link.ts';
import { type LinkServer, startLinkServer } from '../../local/link-server.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';

const DAY = '2026-03-09';
const firstKey = 'f'.repeat(64);
const sentAt = Date.parse('2026-03-10T12:00:00Z');
const week = 7 * 86_400_000;

let stack: LocalStack;
let stackDir: string;
let server: LinkServer;
const workbook = Buffer.from('PK\u0003\u0004 a workbook, byte for byte');
/** What the endpoint's key source returns; `undefined` makes it fail as an unreadable secret would. */
let currentKey: string | undefined;
/** How often the endpoint asked for the key (in AWS, a Secrets Manager read when not cached). */
let keyReads = 0;
let now = sentAt;

function link(claims: Partial<LinkClaims> = {}, signingKey = firstKey): string {
  const token = signLinkToken({ key: reportKey(DAY), expiresAt: sentAt + week, ...claims }, signingKey);
  return linkUrl(server.baseUrl, token);
}

/** A refusal: a small HTML page for a person, with the status given, never S3's XML. */
async function refusal(url: string, status: number, init: RequestInit = {}): Promise<string> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('location')).toBeNull();
  const body = await response.text();
  expect(body).toMatch(/^<!doctype html>/);
  expect(body).not.toMatch(/<\?xml|<Error>|AccessDenied|NoSuchKey|SignatureDoesNotMatch/);
  return body;
}

/** Sends bytes as they are to the link server; the status line of its answer, or '' if it only closed the connection. */
function rawRequest(bytes: string): Promise<string> {
  const { port } = new URL(server.baseUrl);
  return new Promise((resolve) => {
    let received = '';
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes, 'latin1'));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    // A server that closes while the request is still being sent resets the connection: what came back still counts.
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received.split('\r\n')[0] ?? ''));
  });
}

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  stackDir = await mkdtemp(join(tmpdir(), 'charlie-link-'));
  stack = await startLocalStack(stackDir);
  await stack.clients.s3.send(
    new PutObjectCommand({ Bucket: stack.resources.reportsBucket, Key: reportKey(DAY), Body: workbook }),
  );
  server = await startLinkServer({
    s3: stack.clients.s3,
    bucket: stack.resources.reportsBucket,
    signingKey: async () => {
      keyReads++;
      if (currentKey === undefined) throw new Error('secret unreadable');
      return currentKey;
    },
    timeZone: 'America/Chicago',
    now: () => new Date(now),
  });
});

beforeEach(() => {
  currentKey = firstKey;
  keyReads = 0;
  now = sentAt;
});

afterAll(async () => {
  await server?.stop();
  await stack?.stop();
  await rm(stackDir, { recursive: true, force: true });
});

describe('the download link endpoint', () => {
  it('redirects a valid link, days later, to a presigned URL that lives minutes and returns the workbook', async () => {
    now = sentAt + 6 * 86_400_000;
    const response = await fetch(link(), { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const location = new URL(response.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(
      `${stack.endpoints.s3}/${stack.resources.reportsBucket}/${reportKey(DAY)}`,
    );
    expect(location.searchParams.get('X-Amz-Expires')).toBe(String(downloadUrlSeconds));
    expect(downloadUrlSeconds).toBeLessThanOrEqual(600);

    const download = await fetch(location);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="Charlie-Intraday-${DAY}.xlsx"`);
    expect(Buffer.from(await download.arrayBuffer()).equals(workbook)).toBe(true);

    // A browser follows the redirect by itself.
    const followed = await fetch(link());
    expect(Buffer.from(await followed.arrayBuffer()).equals(workbook)).toBe(true);
  });

  it('answers HEAD like GET, so that link checkers see a working link', async () => {
    const response = await fetch(link(), { method: 'HEAD', redirect: 'manual' });
    expect(response.status).toBe(302);
  });

  it('refuses an expired link with 410 and says until when it worked', async () => {
    now = sentAt + week;
    const body = await refusal(link(), 410);
    expect(body).toContain('This download link has expired');
    // 12:00Z a week later is 07:00 in Chicago (daylight saving time began on 2026-03-08).
    expect(body).toContain(`Charlie-Intraday-${DAY}.xlsx worked until 2026-03-17 07:00 (America/Chicago time)`);
  });

  it('refuses a tampered link with 403', async () => {
    const genuine = new URL(link());
    const [payload = '', signature = ''] = (genuine.searchParams.get('t') ?? '').split('.');
    const longer = Buffer.from(
      Buffer.from(payload, 'base64url')
        .toString()
        .replace(/"e":\d+/, `"e":${Math.floor((sentAt + 52 * week) / 1000)}`),
    ).toString('base64url');
    const otherSignature = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
    for (const token of [`${longer}.${signature}`, `${payload}.${otherSignature}`, payload, '']) {
      genuine.searchParams.set('t', token);
      expect(await refusal(genuine.toString(), 403)).toContain('This download link does not work');
    }
    expect(await refusal(server.baseUrl, 403)).toContain('This download link does not work');
  });

  it('refuses a malformed or oversized token before it reads the key or S3', async () => {
    // The key cannot be read: a refusal with 403, not 503, shows it was never asked for.
    currentKey = undefined;
    const notJson = `${Buffer.from('not json').toString('base64url')}.${'A'.repeat(43)}`;
    const noClaims = `${Buffer.from('{"k":""}').toString('base64url')}.${'A'.repeat(43)}`;
    const oversized = `${'A'.repeat(2049)}.${'A'.repeat(43)}`;
    for (const token of ['garbage', notJson, noClaims, oversized, 'A'.repeat(10_000)]) {
      const url = new URL(server.baseUrl);
      url.searchParams.set('t', token);
      expect(await refusal(url.toString(), 403)).toContain('This download link does not work');
    }
    expect(keyReads).toBe(0);
    // A well-formed token is checked with the key: here unreadable, so the service is unavailable.
    await refusal(link(), 503);
    expect(keyReads).toBe(1);
  });

  it('refuses every link signed before the key was replaced with 410, and accepts links signed after', async () => {
    const before = link();
    const newKey = 'n'.repeat(64);
    currentKey = newKey;
    const body = await refusal(before, 410);
    expect(body).toContain('This download link has been withdrawn');
    const after = await fetch(link({}, newKey), { redirect: 'manual' });
    expect(after.status).toBe(302);
  });

  it('says 404 when the workbook is no longer stored', async () => {
    const body = await refusal(link({ key: reportKey('2026-01-02') }), 404);
    expect(body).toContain('This workbook is no longer available');
    expect(body).toContain('Charlie-Intraday-2026-01-02.xlsx has been removed');
  });

  it('says 503, not an error trace, when the key cannot be read', async () => {
    currentKey = undefined;
    const body = await refusal(link(), 503);
    expect(body).toContain('The download is not available right now');
    expect(body).not.toContain('secret unreadable');
  });

  it('answers other methods with 405', async () => {
    const response = await fetch(link(), { method: 'POST', redirect: 'manual' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('survives malformed requests, answering 400 (431 for a huge request line) or closing, and serves the next', async () => {
    const closing = 'Host: x\r\nConnection: close\r\n\r\n';
    expect(await rawRequest('GARBAGE\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expect(await rawRequest('\0')).toBe('HTTP/1.1 400 Bad Request');
    expect(await rawRequest(`GET /?t=${'a'.repeat(100_000)} HTTP/1.1\r\n${closing}`)).toMatch(
      /^(HTTP\/1\.1 431 Request Header Fields Too Large)?$/,
    );
    // Targets a URL parser refuses reach the handler as a request without a token.
    expect(await rawRequest(`GET // HTTP/1.1\r\n${closing}`)).toBe('HTTP/1.1 403 Forbidden');
    expect(await rawRequest(`GET http://[/ HTTP/1.1\r\n${closing}`)).toBe('HTTP/1.1 403 Forbidden');
    expect(await rawRequest(`GET /?t=%E0%A4%A HTTP/1.1\r\n${closing}`)).toBe('HTTP/1.1 403 Forbidden');
    const next = await fetch(link(), { redirect: 'manual' });
    expect(next.status).toBe(302);
  });
});
