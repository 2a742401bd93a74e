import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { agentRules, type UploadRequest } from '../../functions/agent-upload/contract.ts';
import {
  type AgentTokenStore,
  createAgentToken,
  revokeAgentToken,
  verifyAgentToken,
} from '../../functions/agent-upload/tokens.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import { AGENT_TOKENS_PARTITION } from '../../functions/common/names.ts';
import { readMetadata } from '../../functions/common/objects.ts';
import { logger } from '../../functions/common/observability.ts';
import { type LocalAgentEndpoint, startAgentEndpoint } from '../../local/agent-endpoint-server.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { agentTokenCommand } from '../../scripts/agent-token.ts';

const config = loadConfigFile();
const requestsPerMinute = 5;

let dir: string;
let stack: LocalStack;
let endpoint: LocalAgentEndpoint;
let store: AgentTokenStore;
let token: string;
/** The endpoint's clock: each test starts in a minute of its own, with a fresh rate limit. */
let clock = Date.parse('2026-03-10T12:00:00Z');

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  dir = await mkdtemp(join(tmpdir(), 'charlie-agent-endpoint-'));
  stack = await startLocalStack(join(dir, 'stack'));
  store = { dynamodb: stack.clients.dynamodb, table: stack.resources.table };
  endpoint = await startAgentEndpoint({
    config,
    stack,
    limits: { requestsPerMinute, urlExpirySeconds: 600 },
    now: () => clock,
  });
  token = await createAgentToken(store, 'desk-1', new Date(clock));
});

afterAll(async () => {
  await endpoint?.stop();
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  clock += 60_000;
});

function call(path: string, init: { method?: string; token?: string | null; body?: unknown } = {}) {
  const bearer = init.token === undefined ? token : init.token;
  return fetch(new URL(path, endpoint.url), {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
}

const csv = Buffer.from('Interval Start,Interval End\n2026-03-09 09:00:00,2026-03-09 10:00:00\n');
const sha256 = createHash('sha256').update(csv).digest('hex');

function describeFile(overrides: Partial<UploadRequest> = {}): UploadRequest {
  return {
    fileName: 'IB_Calls_2026-03-09_1000.csv',
    type: 'IB_Calls',
    bytes: csv.length,
    sha256,
    receivedAt: '2026-03-09T15:00:30.1234567Z',
    exportedAt: '2026-03-09T10:00:00-05:00',
    messageId: '<export-1@mypurecloud.com>',
    sender: 'no-reply@mypurecloud.com',
    ...overrides,
  };
}

describe('the agent endpoint', () => {
  it('serves the cloud rules an agent picks files by', async () => {
    const response = await call('/rules');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(agentRules(config))));
  });

  it.each([
    ['no token', null],
    ['not a bearer token', 'desk-1'],
    ['an unknown agent', `desk-9.${'A'.repeat(43)}`],
  ])('refuses %s with 401', async (_, bearer) => {
    const response = await call('/rules', { token: bearer });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses a tampered token, and a revoked one from the next request on', async () => {
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect((await call('/rules', { token: `${token.slice(0, -1)}${last}` })).status).toBe(401);

    const other = await createAgentToken(store, 'desk-2', new Date(clock));
    expect((await call('/rules', { token: other })).status).toBe(200);
    await revokeAgentToken(store, 'desk-2', new Date(clock));
    expect((await call('/rules', { token: other })).status).toBe(401);
  });

  it('limits each agent to its requests per minute, then tells it when to come back', async () => {
    clock = Math.floor(clock / 60_000) * 60_000 + 45_000;
    for (let i = 0; i < requestsPerMinute; i++) expect((await call('/rules')).status).toBe(200);
    const limited = await call('/rules');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('15');
    // Another agent has its own count.
    const other = await createAgentToken(store, 'desk-3', new Date(clock));
    expect((await call('/rules', { token: other })).status).toBe(200);

    clock += 15_000;
    expect((await call('/rules')).status).toBe(200);
  });

  it('answers a described file with a presigned PUT that signs its length, digest and lineage', async () => {
    const response = await call('/uploads', {
      body: describeFile({ fileName: 'IB_Calls Análisis.csv', sender: 'no-reply@mypurecloud.com' }),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { key: string; url: string; headers: Record<string, string> };
    expect(answer.key).toBe(`inbox/agent/desk-1/20260309T150030Z_${sha256}/IB_Calls An_lisis.csv`);
    expect(answer.headers).toEqual({
      'content-type': 'text/csv',
      'content-length': String(csv.length),
      'x-amz-checksum-sha256': Buffer.from(sha256, 'hex').toString('base64'),
      'x-amz-meta-received-at': '2026-03-09T15:00:30.123Z',
      'x-amz-meta-exported-at': '2026-03-09T15:00:00.000Z',
      'x-amz-meta-attachment-name': 'IB_Calls An%C3%A1lisis.csv',
      'x-amz-meta-message-id': '<export-1@mypurecloud.com>',
      'x-amz-meta-sender': 'no-reply@mypurecloud.com',
    });
    const signed = new URL(answer.url).searchParams.get('X-Amz-SignedHeaders')?.split(';');
    expect(signed).toEqual(expect.arrayContaining([...Object.keys(answer.headers), 'host']));
    expect(new URL(answer.url).searchParams.get('X-Amz-Expires')).toBe('600');

    const { 'content-length': _, ...headers } = answer.headers;
    const put = await fetch(answer.url, { method: 'PUT', headers, body: csv });
    expect(put.status).toBe(200);
    const bucket = stack.resources.dataBucket;
    const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: answer.key }));
    expect(head.Metadata).toEqual({
      'received-at': '2026-03-09T15:00:30.123Z',
      'exported-at': '2026-03-09T15:00:00.000Z',
      'attachment-name': 'IB_Calls An%C3%A1lisis.csv',
      'message-id': '<export-1@mypurecloud.com>',
      sender: 'no-reply@mypurecloud.com',
    });
    const object = await stack.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: answer.key }));
    expect(Buffer.from((await object.Body?.transformToByteArray()) ?? []).equals(csv)).toBe(true);

    // The same file described again: nothing to upload.
    const again = await call('/uploads', {
      body: describeFile({ fileName: 'IB_Calls Análisis.csv', sender: 'no-reply@mypurecloud.com' }),
    });
    expect(await again.json()).toEqual({ alreadyStored: true, key: answer.key });
  });

  it('answers hostile names and bodies with 400 or a bounded PUT, never 500', async () => {
    const lone = '\uD800';
    const refused: { body: unknown; error: RegExp }[] = [
      { body: 'not json', error: /not JSON/ },
      { body: '[1,2]', error: /\(body\)/ },
      { body: `${'['.repeat(5000)}${']'.repeat(5000)}`, error: /\(body\)/ },
      { body: describeFile({ fileName: `${lone.repeat(2_000)}.csv` }), error: /^fileName: / },
      { body: describeFile({ fileName: 'a\u0000b.exe' }), error: /fileName: must be a \.csv or \.zip file/ },
      { body: describeFile({ messageId: 'x'.repeat(10_000) }), error: /^messageId: / },
      { body: { ...describeFile(), fileName: { $ne: 1 } }, error: /^fileName: / },
      { body: { ...describeFile(), extra: '..' }, error: /extra/ },
      { body: describeFile({ receivedAt: '2026-13-45T99:00:00Z' }), error: /^receivedAt: / },
      { body: describeFile({ bytes: 1e300 }), error: /^bytes: / },
    ];
    for (const [i, { body, error }] of refused.entries()) {
      if (i % 4 === 3) clock += 60_000;
      const response = await call('/uploads', { body });
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(error);
    }

    // Names and ids of any content within the contract's lengths: a PUT whose metadata stays within S3's 2 KB.
    clock += 60_000;
    const fileName = `../${lone}\u0007/${'é'.repeat(240)}.csv`;
    const messageId = `<${'€'.repeat(900)}${lone}@example.com>`;
    const response = await call('/uploads', { body: describeFile({ fileName, messageId, type: undefined }) });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { key: string; url: string; headers: Record<string, string> };
    expect(answer.key).toMatch(new RegExp(`^inbox/agent/desk-1/20260309T150030Z_${sha256}/[A-Za-z0-9._() -]+\\.csv$`));
    const metadataBytes = Object.entries(answer.headers)
      .filter(([name]) => name.startsWith('x-amz-meta-'))
      .reduce((sum, [name, value]) => sum + name.length - 'x-amz-meta-'.length + Buffer.byteLength(value), 0);
    expect(metadataBytes).toBeLessThanOrEqual(2048);
    const { 'content-length': _, ...headers } = answer.headers;
    expect((await fetch(answer.url, { method: 'PUT', headers, body: csv })).status).toBe(200);
    const bucket = stack.resources.dataBucket;
    const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: answer.key }));
    expect(await readMetadata(stack.clients.s3, bucket, answer.key, head.Metadata)).toMatchObject({
      'attachment-name': fileName.replace(lone, '\uFFFD'),
      'message-id': messageId.replace(lone, '\uFFFD'),
    });
  });

  it('names the type in the key when the file name does not, so collect reads the type the agent found', async () => {
    const header = await call('/uploads', { body: describeFile({ fileName: 'export (4).csv', type: 'RESC' }) });
    expect(((await header.json()) as { key: string }).key).toMatch(/\/RESC__export \(4\)\.csv$/);
    const zip = await call('/uploads', {
      body: describeFile({ fileName: 'daily.zip', type: undefined, bytes: 10, sha256: 'a'.repeat(64) }),
    });
    const answer = (await zip.json()) as { key: string; headers: Record<string, string> };
    expect(answer.key).toMatch(/\/daily\.zip$/);
    expect(answer.headers['content-type']).toBe('application/zip');
  });

  it.each([
    ['a body that is not JSON', '{', 400, /not JSON/],
    ['a file that is neither a CSV nor a zip', describeFile({ fileName: 'notes.txt' }), 400, /fileName/],
    ['an unknown export type', describeFile({ type: 'Surveys' }), 400, /type: Surveys/],
    ['a field it does not know', { ...describeFile(), body: 'x' }, 400, /body/],
    ['a bad digest', describeFile({ sha256: 'ABC' }), 400, /sha256/],
    ['a file over maxAttachmentBytes', describeFile({ bytes: config.mailbox.maxAttachmentBytes + 1 }), 413, /over/],
    ['a request body that carries a file', { file: 'x'.repeat(20_000) }, 413, /presigned URL/],
  ])('refuses %s', async (_, body, status, message) => {
    const response = await call('/uploads', { body });
    expect(response.status).toBe(status);
    expect(((await response.json()) as { error: string }).error).toMatch(message);
  });

  it('refuses a wrong method or an oversized body before it reads the table', async () => {
    const reads = vi.spyOn(stack.clients.dynamodb, 'send');
    try {
      const stranger = `desk-9.${'A'.repeat(43)}`;
      expect((await call('/rules', { method: 'POST', body: {}, token: stranger })).status).toBe(405);
      expect((await call('/uploads', { token: stranger })).status).toBe(405);
      const oversized = await call('/uploads', { body: 'x'.repeat(20 * 1024), token: stranger });
      expect(oversized.status).toBe(413);
      expect(reads).not.toHaveBeenCalled();
      // A request of the right shape is checked against the stored token.
      expect((await call('/rules', { token: stranger })).status).toBe(401);
      expect(reads).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
    }
  });

  it('serves only its two routes, each with its method', async () => {
    expect((await call('/upload')).status).toBe(404);
    expect((await call('/uploads')).status).toBe(405);
    expect((await call('/rules', { method: 'POST', body: {} })).status).toBe(405);
  });
});

describe('npm run agent-token', () => {
  it('prints a token once, lists agents, revokes, and issues again only after a revocation', async () => {
    const lines: string[] = [];
    const io = { store, now: () => new Date('2026-03-10T09:00:00Z'), out: (line: string) => lines.push(line) };

    expect(await agentTokenCommand('create', 'front-desk', io)).toBe(0);
    const issued = lines[0] as string;
    expect(issued).toMatch(/^front-desk\.[A-Za-z0-9_-]{43}$/);
    const secret = issued.split('.')[1] as string;
    expect(await verifyAgentToken(store, 'front-desk', secret)).toBe(true);
    await expect(agentTokenCommand('create', 'front-desk', io)).rejects.toThrow(/already has a token/);

    lines.length = 0;
    await agentTokenCommand('list', undefined, io);
    expect(lines).toContain('front-desk\tissued 2026-03-10T09:00:00.000Z');
    // Only the hash is stored: the table never holds the secret.
    const { Items } = await stack.clients.dynamodb.send(
      new QueryCommand({
        TableName: stack.resources.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': AGENT_TOKENS_PARTITION },
      }),
    );
    expect(JSON.stringify(Items)).not.toContain(secret);

    await agentTokenCommand('revoke', 'front-desk', io);
    expect(await verifyAgentToken(store, 'front-desk', secret)).toBe(false);
    lines.length = 0;
    await agentTokenCommand('list', undefined, io);
    expect(lines).toContain('front-desk\tissued 2026-03-10T09:00:00.000Z\trevoked 2026-03-10T09:00:00.000Z');
    await expect(agentTokenCommand('revoke', 'front-desk', io)).rejects.toThrow(/no token to revoke/);

    lines.length = 0;
    await agentTokenCommand('create', 'front-desk', io);
    expect(await verifyAgentToken(store, 'front-desk', secret)).toBe(false);
    expect(await verifyAgentToken(store, 'front-desk', (lines[0] as string).split('.')[1] as string)).toBe(true);
    await expect(agentTokenCommand('create', 'Front Desk', io)).rejects.toThrow(/lower-case letters/);
  });
});
