import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { ExecutionControl } from '../../functions/actions/executions.ts';
import { type Config, consoleDefaults } from '../../functions/common/config.ts';
import type { ConsoleSettings } from '../../functions/console-api/contract.ts';
import { handleConsoleRequest } from '../../functions/console-api/router.ts';
import type { DeliverDeps } from '../../functions/deliver/deliver.ts';
import { apiCors, securityHeaders } from '../../lib/console-policy.ts';
import { buildConsole } from '../../web/build.ts';
import type { ExecutionRecords } from '../kept.ts';
import { keptWorkbookVersions } from '../report-versions.ts';
import type { LocalStack } from '../stack.ts';
import { type LocalExecutionsOptions, localExecutions, type MailForDay } from './executions.ts';
import { type DevUser, devPassword, devUsers, startIdentityProvider } from './identity.ts';

export interface LocalConsoleOptions {
  config: Config;
  stack: LocalStack;
  links: DeliverDeps['links'];
  records: ExecutionRecords;
  mailFor: MailForDay;
  /** The app's built files; default: the app built from web/ into a folder of its own. */
  appDir?: string;
  /** Access tokens' lifetime. */
  accessTokenSeconds?: number;
  /** Resources the provider also issues tokens for, which the API refuses (tests). */
  otherAudiences?: readonly string[];
  /** The business clock of the API (the center's today). */
  now?: () => number;
  /** The authorizer's clock, checking tokens' expiry; default the real one (tests move it past an expiry). */
  tokenClock?: () => number;
}

export interface LocalConsole {
  /** The console in a browser. */
  url: string;
  apiUrl: string;
  issuer: string;
  clientId: string;
  audience: string;
  users: readonly DevUser[];
  password: string;
  /** The state machine as the console's actions drive it: tests wait for its executions with `settled`. */
  executions: ExecutionControl & { settled(): Promise<void> };
  close(): Promise<void>;
}

const clientId = 'charlie-console-local';

/**
 * The web console on loopback against the local stack: a real OIDC provider with one dev user per
 * role, the API's own router behind a stand-in for API Gateway's JWT authorizer (signature,
 * issuer, audience and expiry checked against the provider's keys, the claims handed over as
 * API Gateway hands them), and the app's files with `/config.json`, under the deployed headers.
 */
export async function startLocalConsole(options: LocalConsoleOptions): Promise<LocalConsole> {
  const { config } = options;
  const settings = config.console ?? consoleDefaults();
  const appServer = createServer();
  const apiServer = createServer();
  const opened: { close(): Promise<void> }[] = [];
  try {
    const consoleOrigin = await listen(appServer);
    opened.push({ close: () => close(appServer) });
    const apiUrl = await listen(apiServer);
    opened.push({ close: () => close(apiServer) });
    const audience = apiUrl;
    const identity = await startIdentityProvider({
      consoleOrigin,
      clientId,
      audience,
      ...(options.accessTokenSeconds ? { accessTokenSeconds: options.accessTokenSeconds } : {}),
      ...(options.otherAudiences ? { otherAudiences: options.otherAudiences } : {}),
    });
    opened.push({ close: identity.stop });
    const app = options.appDir ? { dir: options.appDir, remove: () => undefined } : await buildApp();
    opened.push({ close: async () => app.remove() });

    const executionOptions: LocalExecutionsOptions = {
      config,
      stack: options.stack,
      links: options.links,
      records: options.records,
      mailFor: options.mailFor,
      ...(options.now ? { now: options.now } : {}),
    };
    const executions = localExecutions(executionOptions);
    opened.unshift({ close: () => executions.settled() });
    const now = options.now ?? Date.now;
    const deps = {
      config,
      settings,
      s3: options.stack.clients.s3,
      dynamodb: options.stack.clients.dynamodb,
      resources: options.stack.resources,
      executions,
      workbooks: keptWorkbookVersions(options.stack.clients.s3, options.stack.resources.reportsBucket),
      monitoring: {
        notes: [
          'The local stack has no EventBridge Scheduler: next runs are the configured schedule’s times.',
          'The local stack has no CloudWatch alarms and no SQS dead-letter queue: none are listed.',
        ],
        alarms: async () => [],
        deadLetterQueues: async () => [],
      },
      now: () => new Date(now()),
    };
    const jwks = createRemoteJWKSet(new URL(await jwksUri(identity.issuer)));
    apiServer.on('request', (req, res) => {
      const clock = options.tokenClock ?? Date.now;
      serveApi(req, res, { consoleOrigin, issuer: identity.issuer, audience, jwks, clock }, (event) =>
        handleConsoleRequest(event, deps),
      ).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `Internal Server Error: ${(error as Error).name}` }));
      });
    });
    const consoleSettings: ConsoleSettings = {
      apiUrl,
      issuer: identity.issuer,
      clientId,
      scopes: ['openid', 'email', 'profile'],
      authParams: { resource: audience },
      timeZone: config.timeZone,
      centerName: settings.centerName,
    };
    const headers = securityHeaders([apiUrl, identity.issuer]);
    appServer.on('request', (req, res) => serveApp(req, res, app.dir, consoleSettings, headers));
    return {
      url: consoleOrigin,
      apiUrl,
      issuer: identity.issuer,
      clientId,
      audience,
      users: devUsers,
      password: devPassword,
      executions,
      async close() {
        for (const part of opened) await part.close().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const part of opened) await part.close().catch(() => undefined);
    throw error;
  }
}

/** The app as web/build.ts builds it, in a folder removed on close. */
async function buildApp(): Promise<{ dir: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'charlie-console-'));
  await buildConsole(dir);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function jwksUri(issuer: string): Promise<string> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  const discovery = (await response.json()) as { jwks_uri: string };
  return discovery.jwks_uri;
}

interface Authorizer {
  consoleOrigin: string;
  issuer: string;
  audience: string;
  jwks: ReturnType<typeof createRemoteJWKSet>;
  clock: () => number;
}

/**
 * API Gateway's part: CORS for the console's origin (preflights answered without a token), the
 * JWT authorizer (401 `{"message":"Unauthorized"}` as API Gateway words it), and the payload
 * format 2.0 event, claims as strings and lists as `[a b]`, as the JWT authorizer hands them on.
 */
async function serveApi(
  req: IncomingMessage,
  res: ServerResponse,
  authorizer: Authorizer,
  handle: (event: APIGatewayProxyEventV2WithJWTAuthorizer) => Promise<{
    statusCode?: number;
    headers?: Record<string, string | number | boolean>;
    body?: string;
    isBase64Encoded?: boolean;
  }>,
): Promise<void> {
  const origin = req.headers.origin;
  const cors: Record<string, string> =
    origin === authorizer.consoleOrigin
      ? {
          'access-control-allow-origin': origin,
          'access-control-expose-headers': apiCors.exposeHeaders.join(','),
          vary: 'origin',
        }
      : {};
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'OPTIONS' && req.headers['access-control-request-method']) {
    res.writeHead(204, {
      ...cors,
      ...(cors['access-control-allow-origin']
        ? {
            'access-control-allow-methods': apiCors.allowMethods.join(','),
            'access-control-allow-headers': apiCors.allowHeaders.join(','),
            'access-control-max-age': String(apiCors.maxAgeSeconds),
          }
        : {}),
    });
    res.end();
    return;
  }
  const body = await readBody(req);
  const claims = await verify(req.headers.authorization, authorizer);
  if (!claims) {
    res.writeHead(401, { ...cors, 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    res.end('{"message":"Unauthorized"}');
    return;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const now = Date.now();
  const event: APIGatewayProxyEventV2WithJWTAuthorizer = {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: Object.fromEntries(
      Object.entries(req.headers).flatMap(([name, value]) =>
        value === undefined ? [] : [[name, Array.isArray(value) ? value.join(',') : value]],
      ),
    ),
    ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: {
          claims: asGatewayClaims(claims),
          scopes: typeof claims.scope === 'string' ? claims.scope.split(' ') : null,
        },
      },
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    ...(body.length ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
  };
  const result = await handle(event);
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
  res.writeHead(result.statusCode ?? 200, { ...headers, ...cors });
  res.end(result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? ''));
}

async function verify(header: string | undefined, authorizer: Authorizer): Promise<JWTPayload | undefined> {
  const token = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
  if (!token) return undefined;
  try {
    const { payload } = await jwtVerify(token, authorizer.jwks, {
      issuer: authorizer.issuer,
      audience: authorizer.audience,
      algorithms: ['RS256'],
      currentDate: new Date(authorizer.clock()),
    });
    return payload;
  } catch {
    return undefined;
  }
}

/** Claims as API Gateway's JWT authorizer passes them to the integration: every value a string, a list as `[a b]`. */
export function asGatewayClaims(claims: JWTPayload): Record<string, string> {
  return Object.fromEntries(
    Object.entries(claims).map(([name, value]) => [
      name,
      Array.isArray(value)
        ? `[${value.join(' ')}]`
        : typeof value === 'object' && value !== null
          ? JSON.stringify(value)
          : String(value),
    ]),
  );
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** The app's files as CloudFront serves them: `/config.json`, hashed assets cached for good, any other path the app itself. */
function serveApp(
  req: IncomingMessage,
  res: ServerResponse,
  dir: string,
  settings: ConsoleSettings,
  headers: Record<string, string>,
): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/config.json') {
    res.writeHead(200, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-cache' });
    res.end(JSON.stringify(settings));
    return;
  }
  const file = normalize(join(dir, decodeURIComponent(path)));
  const inside = file.startsWith(dir + sep);
  const found = inside && existsSync(file) && statSync(file).isFile();
  // A path of the app (/days/2026-03-09, /callback) is the app; a missing asset is a 404.
  if (!found && extname(path) !== '') {
    res.writeHead(404, { ...headers, 'content-type': 'text/plain' });
    res.end('Not found');
    return;
  }
  const served = found ? file : join(dir, 'index.html');
  res.writeHead(200, {
    ...headers,
    'content-type': contentTypes[extname(served)] ?? 'application/octet-stream',
    'cache-control': served.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  res.end(readFileSync(served));
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
