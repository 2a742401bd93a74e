import { z } from 'zod';
import type { Config } from '../shared/config.ts';
import { retry } from '../shared/retry.ts';

/** A message as collect sees it, whatever the mailbox behind it. */
export interface MailMessage {
  /** The mailbox's id of the message, for follow-up requests. */
  id: string;
  /** RFC 5322 Message-ID: unlike `id`, it survives moving the message between folders. */
  internetMessageId: string | undefined;
  subject: string;
  /** Lower-case sender address. */
  from: string | undefined;
  /** ISO instants. */
  receivedAt: string;
  sentAt: string;
}

export interface MailAttachment {
  id: string;
  name: string;
  contentType: string;
  size: number;
  isInline: boolean;
  /** Only file attachments hold bytes of their own; item attachments are mail items, reference attachments links. */
  kind: 'file' | 'item' | 'reference';
}

export interface MailWindow {
  start: string;
  end: string;
}

/** The mailbox folder collect reads, free of HTTP details. */
export interface MailSource {
  /** For logs and errors, e.g. `reports@example.com:Inbox/Genesys`. */
  readonly name: string;
  /** Messages with attachments received in [start, end), oldest first. */
  messages(window: MailWindow): AsyncIterable<MailMessage>;
  attachments(messageId: string): Promise<MailAttachment[]>;
  /**
   * Streams an attachment's bytes into `consume` and returns its result. A transfer that
   * fails midway is retried from the start, so `consume` must start over when called again.
   */
  download<T>(
    messageId: string,
    attachmentId: string,
    consume: (chunks: AsyncIterable<Uint8Array>) => Promise<T>,
  ): Promise<T>;
}

export interface GraphMailOptions {
  mailbox: Pick<Config['mailbox'], 'user' | 'folder' | 'tenantId' | 'clientId' | 'graphBaseUrl' | 'authorityHost'>;
  /** The app registration's client secret, or how to read it when a token is needed. */
  clientSecret: string | (() => Promise<string>);
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

const transientStatuses = new Set([429, 503, 504]);

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
];
const attachmentFields = ['id', 'name', 'contentType', 'size', 'isInline', 'lastModifiedDateTime'];

const address = z
  .object({ emailAddress: z.object({ address: z.string().nullish() }).nullish() })
  .nullish()
  .transform((value) => value?.emailAddress?.address?.toLowerCase() || undefined);

const messageSchema = z.object({
  id: z.string(),
  internetMessageId: z.string().nullish(),
  subject: z.string().nullish(),
  from: address,
  sender: address,
  receivedDateTime: z.string(),
  sentDateTime: z.string().nullish(),
});

const attachmentSchema = z.object({
  '@odata.type': z.string(),
  id: z.string(),
  name: z.string().nullish(),
  contentType: z.string().nullish(),
  size: z.number().nullish(),
  isInline: z.boolean().nullish(),
});

const folderSchema = z.object({ id: z.string(), displayName: z.string().nullish() });

function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ value: z.array(item), '@odata.nextLink': z.string().optional() });
}

const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive() });

const graphErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string().optional() }) });

const tokenErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

/** The mailbox folder through Microsoft Graph v1.0 with an app-only (client credentials) token. */
export function createGraphMailSource(options: GraphMailOptions): MailSource {
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
    const secret = typeof options.clientSecret === 'string' ? options.clientSecret : await options.clientSecret();
    const url = `${mailbox.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(mailbox.tenantId)}/oauth2/v2.0/token`;
    const body = new URLSearchParams({
      client_id: mailbox.clientId,
      client_secret: secret,
      scope: `${new URL(base).origin}/.default`,
      grant_type: 'client_credentials',
    });
    const response = await send(fetchImpl, url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
    });
    const json = await readJson(response);
    if (!response.ok) {
      const parsed = tokenErrorSchema.safeParse(json);
      const code = parsed.success ? parsed.data.error : `HTTP ${response.status}`;
      const description = parsed.success ? (parsed.data.error_description?.split(/\r?\n/)[0] ?? '') : '';
      throw new GraphError(
        `Could not get a Microsoft Graph token for app ${mailbox.clientId} in tenant ${mailbox.tenantId}: ${code}${description ? ` (${description})` : ''}`,
        {
          status: response.status,
          code,
          transient: transientStatuses.has(response.status) || response.status >= 500,
          retryAfterMs: retryAfter(response),
        },
      );
    }
    const parsed = tokenSchema.safeParse(json);
    if (!parsed.success) {
      throw new GraphError('The token endpoint answered without an access token', {
        status: response.status,
        code: 'InvalidTokenResponse',
      });
    }
    const lifetimeMs = parsed.data.expires_in * 1000;
    // Refresh five minutes early, or halfway through a short lifetime.
    token = { value: parsed.data.access_token, refreshAt: now() + lifetimeMs - Math.min(300_000, lifetimeMs / 2) };
    return token.value;
  }

  /** One Graph GET, retried when throttled or unavailable; a rejected token is renewed once. */
  async function request<T>(url: string, context: string, read: (response: Response) => Promise<T>): Promise<T> {
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
          const response = await send(fetchImpl, url, { headers: { authorization: `Bearer ${bearer}` } });
          if (response.status === 401 && !renewed) {
            await response.body?.cancel();
            return undefined;
          }
          if (!response.ok) throw await failure(response, context);
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

  async function failure(response: Response, context: string): Promise<GraphError> {
    const parsed = graphErrorSchema.safeParse(await readJson(response));
    const code = parsed.success ? parsed.data.error.code : `HTTP ${response.status}`;
    const detail = parsed.success && parsed.data.error.message ? `: ${parsed.data.error.message}` : '';
    const details = {
      status: response.status,
      code,
      transient: transientStatuses.has(response.status),
      retryAfterMs: retryAfter(response),
    };
    if (response.status === 403) {
      return new GraphError(
        `Microsoft Graph denied access to mailbox ${mailbox.user} while ${context} (403 ${code}${detail}). ` +
          `The app registration ${mailbox.clientId} needs the Microsoft Graph application permission Mail.Read ` +
          'with admin consent, and access to this mailbox if an application access policy limits it.',
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

  async function* pages<T extends z.ZodType>(firstUrl: string, item: T, context: string): AsyncGenerator<z.infer<T>> {
    const schema = pageSchema(item);
    for (let url: string | undefined = firstUrl; url; ) {
      const parsed = schema.safeParse(await getJson(url, context));
      if (!parsed.success) {
        throw new GraphError(`Unexpected Microsoft Graph response while ${context}: ${parsed.error.message}`, {
          status: 200,
          code: 'UnexpectedResponse',
        });
      }
      yield* parsed.data.value as z.infer<T>[];
      url = parsed.data['@odata.nextLink'];
    }
  }

  let folderIdPromise: Promise<string> | undefined;

  function folderId(): Promise<string> {
    folderIdPromise ??= resolveFolder().catch((error: unknown) => {
      folderIdPromise = undefined;
      throw error;
    });
    return folderIdPromise;
  }

  /** Walks the configured path from the mailbox root, one display name at a time. */
  async function resolveFolder(): Promise<string> {
    const segments = mailbox.folder
      .split('/')
      .map((s) => s.trim())
      .filter(Boolean);
    let id: string | undefined;
    let walked = '';
    for (const segment of segments) {
      const context = `resolving mail folder ${mailbox.folder}`;
      const byName = `$filter=${encodeURIComponent(`displayName eq '${segment.replace(/'/g, "''")}'`)}&$select=id,displayName`;
      let found: string | undefined;
      if (id === undefined && wellKnownFolders.has(segment.toLowerCase())) {
        const parsed = folderSchema.safeParse(
          await getJson(`${userPath}/mailFolders/${segment.toLowerCase()}?$select=id,displayName`, context),
        );
        found = parsed.success ? parsed.data.id : undefined;
      } else {
        const url =
          id === undefined
            ? `${userPath}/mailFolders?${byName}`
            : `${userPath}/mailFolders/${encodeURIComponent(id)}/childFolders?${byName}`;
        for await (const folder of pages(url, folderSchema, context)) {
          found = folder.id;
          break;
        }
      }
      if (found === undefined) {
        throw new GraphError(
          `Mail folder ${mailbox.folder} not found in mailbox ${mailbox.user}: no folder "${segment}" ${walked ? `under ${walked}` : 'at the top level'}`,
          { status: 404, code: 'FolderNotFound' },
        );
      }
      id = found;
      walked = walked ? `${walked}/${segment}` : segment;
    }
    if (id === undefined) {
      throw new GraphError(`Mail folder path "${mailbox.folder}" is empty`, { status: 0, code: 'FolderNotFound' });
    }
    return id;
  }

  return {
    name: `${mailbox.user}:${mailbox.folder}`,

    async *messages(window) {
      const folder = await folderId();
      const filter =
        `receivedDateTime ge ${graphInstant(window.start)} and receivedDateTime lt ${graphInstant(window.end)}` +
        ' and hasAttachments eq true';
      const url =
        `${userPath}/mailFolders/${encodeURIComponent(folder)}/messages` +
        `?$filter=${encodeURIComponent(filter)}&$orderby=${encodeURIComponent('receivedDateTime asc')}` +
        `&$select=${messageFields.join(',')}&$top=${pageSize}`;
      for await (const message of pages(url, messageSchema, 'listing messages')) {
        yield {
          id: message.id,
          internetMessageId: message.internetMessageId ?? undefined,
          subject: message.subject ?? '',
          from: message.from ?? message.sender,
          receivedAt: message.receivedDateTime,
          sentAt: message.sentDateTime ?? message.receivedDateTime,
        };
      }
    },

    async attachments(messageId) {
      const url = `${userPath}/messages/${encodeURIComponent(messageId)}/attachments?$select=${attachmentFields.join(',')}`;
      const result: MailAttachment[] = [];
      for await (const attachment of pages(url, attachmentSchema, `listing the attachments of message ${messageId}`)) {
        const odataType = attachment['@odata.type'].toLowerCase();
        result.push({
          id: attachment.id,
          name: attachment.name ?? '',
          contentType: attachment.contentType ?? 'application/octet-stream',
          size: attachment.size ?? 0,
          isInline: attachment.isInline ?? false,
          kind: odataType.endsWith('fileattachment')
            ? 'file'
            : odataType.endsWith('itemattachment')
              ? 'item'
              : 'reference',
        });
      }
      return result;
    },

    download(messageId, attachmentId, consume) {
      const url = `${userPath}/messages/${encodeURIComponent(messageId)}/attachments/${encodeURIComponent(attachmentId)}/$value`;
      const context = `downloading attachment ${attachmentId} of message ${messageId}`;
      return request(url, context, (response) => consume(bodyChunks(response, context)));
    },
  };
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

/** Runs at most `max` tasks at once, the rest in arrival order. */
function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
