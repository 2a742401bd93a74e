import { constants, createHash, createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import type { Config } from '../common/config.ts';
import { retry } from '../common/retry.ts';
import { limiter } from './concurrency.ts';
import type { MailAttachment, MailMessage, MailSource } from './mail.ts';

/**
 * The app registration's credential, as stored in Secrets Manager: a client secret, or a
 * certificate and its private key (PEM) to sign a client assertion with.
 */
export type GraphCredential = { clientSecret: string } | { certificatePem: string; privateKeyPem: string };

export const graphCredentialExample =
  '{"clientSecret":"..."} or {"certificatePem":"-----BEGIN CERTIFICATE-----...","privateKeyPem":"-----BEGIN PRIVATE KEY-----..."}';

/** The credential in a secret's parsed JSON, or undefined when it holds neither form. */
export function readGraphCredential(json: unknown): GraphCredential | undefined {
  const fields = isJson(json) ? json : {};
  const clientSecret = text(fields.clientSecret);
  if (clientSecret) return { clientSecret };
  const certificatePem = text(fields.certificatePem);
  const privateKeyPem = text(fields.privateKeyPem);
  if (certificatePem?.includes('BEGIN CERTIFICATE') && privateKeyPem?.includes('PRIVATE KEY')) {
    return { certificatePem, privateKeyPem };
  }
  return undefined;
}

export interface GraphMailOptions {
  mailbox: Pick<
    Config['mailbox'],
    'user' | 'folder' | 'tenantId' | 'clientId' | 'graphBaseUrl' | 'authorityHost' | 'moveProcessedTo'
  >;
  /** The app registration's credential, or how to read it when a token is needed. */
  credential: GraphCredential | (() => Promise<GraphCredential>);
  /** Messages per page (`$top`). */
  pageSize?: number;
  /** Requests in flight at once: Exchange allows an app four per mailbox. */
  maxConcurrency?: number;
  retry?: { attempts?: number; baseMs?: number; maxMs?: number; sleep?: (ms: number) => Promise<void> };
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * A Graph failure. Throttling, unavailability and broken connections are named
 * `TransientError`, the name the state machine retries.
 */
export class GraphError extends Error {
  readonly status: number;
  readonly code: string;
  readonly transient: boolean;
  /** The wait the server asked for (Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: { status: number; code: string; transient?: boolean; retryAfterMs?: number }) {
    super(message);
    this.status = details.status;
    this.code = details.code;
    this.transient = details.transient ?? false;
    this.retryAfterMs = details.retryAfterMs;
    this.name = this.transient ? 'TransientError' : 'GraphError';
  }
}

/** Throttling and every server-side failure are worth another try. */
function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

const wellKnownFolders = new Set([
  'archive',
  'clutter',
  'conflicts',
  'conversationhistory',
  'deleteditems',
  'drafts',
  'inbox',
  'junkemail',
  'localfailures',
  'msgfolderroot',
  'outbox',
  'recoverableitemsdeletions',
  'scheduled',
  'searchfolders',
  'sentitems',
  'serverfailures',
  'syncissues',
]);

const messageFields = [
  'id',
  'internetMessageId',
  'subject',
  'from',
  'sender',
  'receivedDateTime',
  'sentDateTime',
  'hasAttachments',
  'changeKey',
  'lastModifiedDateTime',
];
const attachmentFields = ['id', 'name', 'contentType', 'size', 'isInline', 'lastModifiedDateTime'];

/**
 * Readers of Graph's JSON: what collect uses of each answer, or undefined when the answer
 * lacks it (nulls stand for absent properties, as Graph writes them).
 */
type Json = Record<string, unknown>;

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function readAddress(value: unknown): string | undefined {
  const address = isJson(value) && isJson(value.emailAddress) ? text(value.emailAddress.address) : undefined;
  return address?.toLowerCase() || undefined;
}

function readMessage(item: Json): MailMessage | undefined {
  const id = text(item.id);
  const receivedAt = text(item.receivedDateTime);
  if (id === undefined || receivedAt === undefined) return undefined;
  // Exchange gives a message a new change key whenever it changes: a changed message is a new source.
  const version = text(item.changeKey) ?? text(item.lastModifiedDateTime) ?? receivedAt;
  return {
    id,
    source: `graph:${id}:${version}`,
    internetMessageId: text(item.internetMessageId),
    subject: text(item.subject) ?? '',
    from: readAddress(item.from) ?? readAddress(item.sender),
    receivedAt,
    sentAt: text(item.sentDateTime) ?? receivedAt,
  };
}

function readAttachment(item: Json): MailAttachment | undefined {
  const id = text(item.id);
  const odataType = text(item['@odata.type'])?.toLowerCase();
  if (id === undefined || odataType === undefined) return undefined;
  const kind = odataType.endsWith('fileattachment')
    ? 'file'
    : odataType.endsWith('itemattachment')
      ? 'item'
      : 'reference';
  return {
    id,
    name: text(item.name) ?? '',
    // Graph gives an item attachment no content type; its $value is the item's MIME.
    contentType: text(item.contentType) ?? (kind === 'item' ? 'message/rfc822' : 'application/octet-stream'),
    size: typeof item.size === 'number' ? item.size : 0,
    isInline: item.isInline === true,
    kind,
  };
}

function readFolderId(item: unknown): string | undefined {
  return isJson(item) ? text(item.id) : undefined;
}

function readPage(json: unknown): { items: Json[]; nextLink: string | undefined } | undefined {
  if (!isJson(json) || !Array.isArray(json.value) || !json.value.every(isJson)) return undefined;
  const nextLink = json['@odata.nextLink'];
  if (nextLink !== undefined && typeof nextLink !== 'string') return undefined;
  return { items: json.value, nextLink };
}

function readToken(json: unknown): { accessToken: string; expiresInSeconds: number } | undefined {
  if (!isJson(json)) return undefined;
  const accessToken = text(json.access_token);
  // Entra ID writes expires_in as a number; older endpoints wrote it as a string.
  const expiresInSeconds = Number(json.expires_in);
  if (!accessToken || !(expiresInSeconds > 0)) return undefined;
  return { accessToken, expiresInSeconds };
}

function readGraphFailure(json: unknown): { code: string; message: string | undefined } | undefined {
  const error = isJson(json) && isJson(json.error) ? json.error : undefined;
  const code = text(error?.code);
  return code === undefined ? undefined : { code, message: text(error?.message) };
}

function readTokenFailure(json: unknown): { error: string; description: string | undefined } | undefined {
  const error = isJson(json) ? text(json.error) : undefined;
  return error === undefined ? undefined : { error, description: text((json as Json).error_description) };
}

/** The Graph mailbox, whose attachments are listed, then each downloaded on its own. */
export interface GraphMailSource extends MailSource {
  attachments(messageId: string): Promise<MailAttachment[]>;
  download<T>(
    messageId: string,
    attachmentId: string,
    consume: (chunks: AsyncIterable<Uint8Array>) => Promise<T>,
  ): Promise<T>;
}

/** The mailbox folder through Microsoft Graph v1.0 with an app-only (client credentials) token. */
export function createGraphMailSource(options: GraphMailOptions): GraphMailSource {
  const { mailbox } = options;
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const pageSize = options.pageSize ?? 100;
  const base = mailbox.graphBaseUrl.replace(/\/+$/, '');
  const baseOrigin = new URL(base).origin;
  const userPath = `${base}/users/${encodeURIComponent(mailbox.user)}`;
  const slots = limiter(options.maxConcurrency ?? 4);
  const retryOptions = {
    attempts: options.retry?.attempts ?? 6,
    baseMs: options.retry?.baseMs ?? 500,
    maxMs: options.retry?.maxMs ?? 30_000,
    ...(options.retry?.sleep ? { sleep: options.retry.sleep } : {}),
    retryable: (error: unknown) => error instanceof GraphError && error.transient,
    delayHint: (error: unknown) => (error instanceof GraphError ? error.retryAfterMs : undefined),
  };

  let token: { value: string; refreshAt: number } | undefined;
  let pendingToken: Promise<string> | undefined;

  function accessToken(): Promise<string> {
    if (token && now() < token.refreshAt) return Promise.resolve(token.value);
    pendingToken ??= requestToken().finally(() => {
      pendingToken = undefined;
    });
    return pendingToken;
  }

  async function requestToken(): Promise<string> {
    const credential = typeof options.credential === 'function' ? await options.credential() : options.credential;
    const url = `${mailbox.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(mailbox.tenantId)}/oauth2/v2.0/token`;
    const body = new URLSearchParams({
      client_id: mailbox.clientId,
      scope: `${new URL(base).origin}/.default`,
      grant_type: 'client_credentials',
    });
    if ('clientSecret' in credential) {
      body.set('client_secret', credential.clientSecret);
    } else {
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      body.set('client_assertion', clientAssertion(credential, mailbox.clientId, url, now()));
    }
    const response = await send(fetchImpl, url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
    });
    const json = await readJson(response);
    if (!response.ok) {
      const failed = readTokenFailure(json);
      const code = failed?.error ?? `HTTP ${response.status}`;
      const description = failed?.description?.split(/\r?\n/)[0] ?? '';
      throw new GraphError(
        `Could not get a Microsoft Graph token for app ${mailbox.clientId} in tenant ${mailbox.tenantId}: ${code}${description ? ` (${description})` : ''}`,
        {
          status: response.status,
          code,
          transient: isTransientStatus(response.status),
          retryAfterMs: retryAfter(response),
        },
      );
    }
    const issued = readToken(json);
    if (!issued) {
      throw new GraphError('The token endpoint answered without an access token', {
        status: response.status,
        code: 'InvalidTokenResponse',
      });
    }
    const lifetimeMs = issued.expiresInSeconds * 1000;
    // Refresh five minutes early, or halfway through a short lifetime.
    token = { value: issued.accessToken, refreshAt: now() + lifetimeMs - Math.min(300_000, lifetimeMs / 2) };
    return token.value;
  }

  /**
   * One Graph request, retried when throttled or unavailable; a rejected token is renewed
   * once. A 403 names `permission`, the application permission the request needs.
   */
  async function request<T>(
    url: string,
    context: string,
    read: (response: Response) => Promise<T>,
    options: { method?: 'GET' | 'POST'; json?: unknown; permission?: Permission } = {},
  ): Promise<T> {
    if (new URL(url).origin !== baseOrigin) {
      throw new GraphError(`Refusing to send the mailbox token to ${new URL(url).origin} (${context})`, {
        status: 0,
        code: 'UnexpectedOrigin',
      });
    }
    return retry(async () => {
      for (let renewed = false; ; renewed = true) {
        const bearer = await accessToken();
        const outcome = await slots(async () => {
          const response = await send(fetchImpl, url, {
            method: options.method ?? 'GET',
            headers: {
              authorization: `Bearer ${bearer}`,
              ...(options.json === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }),
          });
          if (response.status === 401 && !renewed) {
            await response.body?.cancel();
            return undefined;
          }
          if (!response.ok) throw await failure(response, context, options.permission ?? 'Mail.Read');
          try {
            return { value: await read(response) };
          } catch (error) {
            // A reader that stops early must not leave the connection half-read.
            await response.body?.cancel().catch(() => undefined);
            throw error;
          }
        });
        if (outcome) return outcome.value;
        if (token?.value === bearer) token = undefined;
      }
    }, retryOptions);
  }

  async function failure(response: Response, context: string, permission: Permission): Promise<GraphError> {
    const failed = readGraphFailure(await readJson(response));
    const code = failed?.code ?? `HTTP ${response.status}`;
    const detail = failed?.message ? `: ${failed.message}` : '';
    const details = {
      status: response.status,
      code,
      transient: isTransientStatus(response.status),
      retryAfterMs: retryAfter(response),
    };
    if (response.status === 403) {
      return new GraphError(
        `Microsoft Graph denied access to mailbox ${mailbox.user} while ${context} (403 ${code}${detail}). ` +
          `The app registration ${mailbox.clientId} needs ${permission} on this mailbox: an "Application ${permission}" ` +
          'role assignment in Exchange RBAC for Applications whose scope includes the mailbox, or the Microsoft Graph ' +
          `application permission ${permission} with admin consent (tenant-wide)` +
          (permission === 'Mail.ReadWrite' ? '; or turn off mailbox.moveProcessedTo.' : '.'),
        details,
      );
    }
    if (response.status === 404 && code === 'ErrorInvalidUser') {
      return new GraphError(`Mailbox ${mailbox.user} does not exist in tenant ${mailbox.tenantId}${detail}`, details);
    }
    return new GraphError(`Microsoft Graph failed while ${context}: ${response.status} ${code}${detail}`, details);
  }

  async function getJson(url: string, context: string): Promise<unknown> {
    return request(url, context, readJson);
  }

  /** The items of a collection, page after page through `@odata.nextLink`. */
  async function* pages<T>(firstUrl: string, read: (item: Json) => T | undefined, context: string): AsyncGenerator<T> {
    const unexpected = (what: string) =>
      new GraphError(`Unexpected Microsoft Graph response while ${context}: ${what}`, {
        status: 200,
        code: 'UnexpectedResponse',
      });
    for (let url: string | undefined = firstUrl; url; ) {
      const page = readPage(await getJson(url, context));
      if (!page) throw unexpected('not a collection');
      for (const item of page.items) {
        const value = read(item);
        if (value === undefined)
          throw unexpected(`an item without the properties asked for (${JSON.stringify(item).slice(0, 200)})`);
        yield value;
      }
      url = page.nextLink;
    }
  }

  const folderIds = new Map<string, Promise<string>>();

  function folderId(path: string): Promise<string> {
    let id = folderIds.get(path);
    if (!id) {
      id = resolveFolder(path).catch((error: unknown) => {
        folderIds.delete(path);
        throw error;
      });
      folderIds.set(path, id);
    }
    return id;
  }

  /** Walks a folder path from the mailbox root, one display name at a time. */
  async function resolveFolder(path: string): Promise<string> {
    const segments = path
      .split('/')
      .map((s) => s.trim())
      .filter(Boolean);
    let id: string | undefined;
    let walked = '';
    for (const segment of segments) {
      const context = `resolving mail folder ${path}`;
      const byName = `$filter=${encodeURIComponent(`displayName eq '${segment.replace(/'/g, "''")}'`)}&$select=id,displayName`;
      let found: string | undefined;
      if (id === undefined && wellKnownFolders.has(segment.toLowerCase())) {
        found = readFolderId(
          await getJson(`${userPath}/mailFolders/${segment.toLowerCase()}?$select=id,displayName`, context),
        );
      } else {
        const url =
          id === undefined
            ? `${userPath}/mailFolders?${byName}`
            : `${userPath}/mailFolders/${encodeURIComponent(id)}/childFolders?${byName}`;
        for await (const folder of pages(url, readFolderId, context)) {
          found = folder;
          break;
        }
      }
      if (found === undefined) {
        throw new GraphError(
          `Mail folder ${path} not found in mailbox ${mailbox.user}: no folder "${segment}" ${walked ? `under ${walked}` : 'at the top level'}`,
          { status: 404, code: 'FolderNotFound' },
        );
      }
      id = found;
      walked = walked ? `${walked}/${segment}` : segment;
    }
    if (id === undefined) {
      throw new GraphError(`Mail folder path "${path}" is empty`, { status: 0, code: 'FolderNotFound' });
    }
    return id;
  }

  const source: GraphMailSource = {
    name: `${mailbox.user}:${mailbox.folder}`,
    origin: 'graph',

    async *messages(window) {
      const folder = await folderId(mailbox.folder);
      const filter =
        `receivedDateTime ge ${graphInstant(window.start)} and receivedDateTime lt ${graphInstant(window.end)}` +
        ' and hasAttachments eq true';
      const url =
        `${userPath}/mailFolders/${encodeURIComponent(folder)}/messages` +
        `?$filter=${encodeURIComponent(filter)}&$orderby=${encodeURIComponent('receivedDateTime asc')}` +
        `&$select=${messageFields.join(',')}&$top=${pageSize}`;
      yield* pages(url, readMessage, 'listing messages');
    },

    async attachments(messageId) {
      const url = `${userPath}/messages/${encodeURIComponent(messageId)}/attachments?$select=${attachmentFields.join(',')}`;
      const result: MailAttachment[] = [];
      for await (const attachment of pages(url, readAttachment, `listing the attachments of message ${messageId}`)) {
        result.push(attachment);
      }
      return result;
    },

    download(messageId, attachmentId, consume) {
      const url = `${userPath}/messages/${encodeURIComponent(messageId)}/attachments/${encodeURIComponent(attachmentId)}/$value`;
      const context = `downloading attachment ${attachmentId} of message ${messageId}`;
      return request(url, context, (response) => consume(bodyChunks(response, context)));
    },

    async eachAttachment(messageId, visit) {
      for (const attachment of await source.attachments(messageId)) {
        await visit(attachment, (consume) => source.download(messageId, attachment.id, consume));
      }
    },
  };

  const moveTo = mailbox.moveProcessedTo;
  if (moveTo) {
    source.messageCollected = async (messageId) => {
      const destinationId = await folderId(moveTo);
      const url = `${userPath}/messages/${encodeURIComponent(messageId)}/move`;
      try {
        await request(url, `moving message ${messageId} to ${moveTo}`, readJson, {
          method: 'POST',
          json: { destinationId },
          permission: 'Mail.ReadWrite',
        });
      } catch (error) {
        // Moved already: a retried move whose first answer was lost, or someone else filed it.
        if (error instanceof GraphError && error.status === 404 && error.code === 'ErrorItemNotFound') return;
        throw error;
      }
    };
  }
  return source;
}

type Permission = 'Mail.Read' | 'Mail.ReadWrite';

/**
 * A client assertion (RFC 7523) as the Microsoft identity platform takes it: a JWT signed
 * PS256 with the certificate's key, naming the certificate by its SHA-256 thumbprint
 * (`x5t#S256`) — the certificate uploaded to the app registration.
 */
function clientAssertion(
  credential: { certificatePem: string; privateKeyPem: string },
  clientId: string,
  audience: string,
  nowMs: number,
): string {
  let certificate: X509Certificate;
  let key: ReturnType<typeof createPrivateKey>;
  try {
    certificate = new X509Certificate(credential.certificatePem);
    key = createPrivateKey(credential.privateKeyPem);
  } catch (error) {
    throw new GraphError(`The Graph certificate or its private key cannot be read: ${(error as Error).message}`, {
      status: 0,
      code: 'InvalidCredential',
    });
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new GraphError('The Graph private key does not belong to the certificate stored with it', {
      status: 0,
      code: 'InvalidCredential',
    });
  }
  const seconds = Math.floor(nowMs / 1000);
  const header = {
    alg: 'PS256',
    typ: 'JWT',
    'x5t#S256': createHash('sha256').update(certificate.raw).digest('base64url'),
  };
  // Valid for ten minutes: long enough for the token request, short as the platform advises.
  const claims = {
    aud: audience,
    iss: clientId,
    sub: clientId,
    jti: randomUUID(),
    nbf: seconds,
    iat: seconds,
    exp: seconds + 600,
  };
  const signed = `${base64url(header)}.${base64url(claims)}`;
  const signature = sign('sha256', Buffer.from(signed), {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  });
  return `${signed}.${signature.toString('base64url')}`;
}

function base64url(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/** Network failures, before or during a response, are worth another try. */
async function send(fetchImpl: typeof fetch, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchImpl(url, init);
  } catch (error) {
    throw networkError(error, `requesting ${new URL(url).pathname}`);
  }
}

async function* bodyChunks(response: Response, context: string): AsyncGenerator<Uint8Array> {
  if (!response.body) return;
  try {
    for await (const chunk of response.body) yield chunk;
  } catch (error) {
    throw networkError(error, context);
  }
}

function networkError(error: unknown, context: string): GraphError {
  const reason = error instanceof Error ? `${error.message}${causeCode(error)}` : String(error);
  return new GraphError(`Connection to Microsoft Graph failed while ${context}: ${reason}`, {
    status: 0,
    code: 'NetworkError',
    transient: true,
  });
}

function causeCode(error: Error): string {
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? ` (${code})` : '';
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After is seconds, or an HTTP date. */
function retryAfter(response: Response): number | undefined {
  const value = response.headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function graphInstant(iso: string): string {
  return new Date(iso).toISOString().replace(/\.000Z$/, 'Z');
}
