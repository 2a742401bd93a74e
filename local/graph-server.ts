import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';

/**
 * A stand-in for Microsoft Graph v1.0 on plain-HTTP loopback, shaped like the real service
 * for the calls the collect stage makes: the client-credentials token endpoint, mail
 * folders by well-known name and display name, a folder's messages with `$filter`,
 * `$select`, `$orderby`, `$top` and `$skip` paging, attachments and their raw `$value`.
 */

export interface FakeAttachment {
  name: string;
  contentType: string;
  content: Buffer;
  isInline?: boolean;
  contentId?: string;
  /** `item` for an attached mail (message/rfc822). */
  kind?: 'file' | 'item';
}

export interface FakeMessage {
  /** Graph id; by default derived from the Message-ID. */
  id?: string;
  internetMessageId: string;
  subject: string;
  from: string;
  fromName?: string;
  to?: string[];
  receivedDateTime: string;
  sentDateTime: string;
  bodyPreview?: string;
  attachments: FakeAttachment[];
}

export interface FakeGraphOptions {
  /** The folder's messages, or a directory of `.eml` files to read them from. */
  messages?: FakeMessage[];
  mailboxDir?: string;
  /** The mailbox's user principal name. */
  user: string;
  /** Path of the folder holding the messages, e.g. `Inbox/Genesys`. */
  folderPath: string;
  /** When set, tokens are issued for this tenant only. */
  tenantId?: string;
  /** When set, the token endpoint checks the client secret. */
  clientSecret?: string;
  /** Answer the first `requests` mailbox requests with 429 and this Retry-After. */
  throttle?: { requests: number; retryAfterSeconds?: number };
  /** Answer every mailbox request 403, as for an app without Mail.Read. */
  forbidden?: boolean;
  /** Concurrent requests allowed per mailbox before 429 (Exchange: 4). */
  maxConcurrent?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

export interface FakeGraph {
  /** e.g. `http://127.0.0.1:PORT/v1.0` */
  graphBaseUrl: string;
  /** e.g. `http://127.0.0.1:PORT` */
  authorityHost: string;
  /** Every request, in the order they were answered. */
  readonly requests: readonly RecordedRequest[];
  /** The most mailbox requests that were in flight at once. */
  readonly maxInFlight: number;
  /** Invalidates every issued token, as when they expire. */
  expireTokens(): void;
  stop(): Promise<void>;
}

interface Folder {
  id: string;
  displayName: string;
  parentFolderId: string;
  wellKnownName?: string;
}

interface StoredAttachment extends FakeAttachment {
  id: string;
}

interface StoredMessage extends Omit<FakeMessage, 'attachments'> {
  id: string;
  attachments: StoredAttachment[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const standardFolders: [string, string][] = [
  ['Inbox', 'inbox'],
  ['Drafts', 'drafts'],
  ['Sent Items', 'sentitems'],
  ['Deleted Items', 'deleteditems'],
  ['Junk Email', 'junkemail'],
  ['Archive', 'archive'],
  ['Outbox', 'outbox'],
];

const messageProperties = new Set([
  'id',
  'createdDateTime',
  'lastModifiedDateTime',
  'changeKey',
  'categories',
  'receivedDateTime',
  'sentDateTime',
  'hasAttachments',
  'internetMessageId',
  'subject',
  'bodyPreview',
  'body',
  'importance',
  'parentFolderId',
  'conversationId',
  'isRead',
  'isDraft',
  'from',
  'sender',
  'toRecipients',
  'ccRecipients',
]);
const attachmentProperties = new Set([
  'id',
  'name',
  'contentType',
  'size',
  'isInline',
  'lastModifiedDateTime',
  'contentId',
  'contentBytes',
]);
const folderProperties = new Set([
  'id',
  'displayName',
  'parentFolderId',
  'childFolderCount',
  'unreadItemCount',
  'totalItemCount',
  'isHidden',
]);

export async function startFakeGraph(options: FakeGraphOptions): Promise<FakeGraph> {
  const sourceMessages = options.messages ?? (options.mailboxDir ? await loadMailboxDir(options.mailboxDir) : []);
  const { folders, leaf } = buildFolders(options.folderPath);
  const rootId = folders.get('msgfolderroot')?.id ?? '';
  const messages = sourceMessages.map((m) => storeMessage(m));
  const user = options.user.toLowerCase();
  const maxConcurrent = options.maxConcurrent ?? 4;
  const tokens = new Set<string>();
  const requests: RecordedRequest[] = [];
  let throttleLeft = options.throttle?.requests ?? 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let origin = '';

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const query = Object.fromEntries(url.searchParams);
    let counted = false;
    res.on('close', () => {
      if (counted) inFlight--;
      requests.push({ method: req.method ?? '', path: url.pathname, query, status: res.statusCode });
    });
    handle()
      .catch((error: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (error instanceof HttpError) {
          sendJson(res, error.status, { error: { code: error.code, message: error.message } }, error.headers);
        } else {
          sendJson(res, 500, { error: { code: 'InternalServerError', message: String(error) } });
        }
      })
      .catch(() => res.destroy());

    async function handle(): Promise<void> {
      const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
      if (tokenPath) return issueToken(req, res, decodeURIComponent(tokenPath[1] ?? ''));
      if (!url.pathname.startsWith('/v1.0/')) throw new HttpError(404, 'NotFound', `No route for ${url.pathname}`);

      const auth = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!auth) throw new HttpError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
      if (!tokens.has(auth)) {
        throw new HttpError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.');
      }
      counted = true;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (inFlight > maxConcurrent) {
        throw new HttpError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
          'Retry-After': '1',
        });
      }
      if (throttleLeft > 0) {
        throttleLeft--;
        throw new HttpError(429, 'ApplicationThrottled', 'Application is over its IncomingBytes limit.', {
          'Retry-After': String(options.throttle?.retryAfterSeconds ?? 0),
        });
      }
      if (req.method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not supported here.`);

      const segments = url.pathname.slice('/v1.0/'.length).split('/').map(decodeURIComponent);
      if (segments[0] !== 'users' || segments.length < 3) {
        throw new HttpError(400, 'BadRequest', `Resource not found for the segment '${segments[0] ?? ''}'.`);
      }
      if ((segments[1] ?? '').toLowerCase() !== user) {
        throw new HttpError(404, 'ErrorInvalidUser', `The requested user '${segments[1]}' is invalid.`);
      }
      if (options.forbidden) {
        throw new HttpError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
      }
      const base = `${origin}/v1.0`;
      const context = `${base}/$metadata#users('${encodeURIComponent(segments[1] ?? '')}')`;
      const rest = segments.slice(2);

      if (rest[0] === 'mailFolders') {
        if (rest.length === 1) {
          const list = [...folders.values()].filter((f) => f.parentFolderId === rootId);
          return sendList(res, url, `${context}/mailFolders`, filterFolders(list, url), folderJson, folderProperties);
        }
        const folder = findFolder(folders, rest[1] ?? '');
        if (rest.length === 2) {
          return sendJson(res, 200, {
            '@odata.context': `${context}/mailFolders/$entity`,
            ...select(folderJson(folder), url, folderProperties),
          });
        }
        if (rest.length === 3 && rest[2] === 'childFolders') {
          const list = [...folders.values()].filter((f) => f.parentFolderId === folder.id);
          return sendList(
            res,
            url,
            `${context}/mailFolders('${folder.id}')/childFolders`,
            filterFolders(list, url),
            folderJson,
            folderProperties,
          );
        }
        if (rest.length === 3 && rest[2] === 'messages') {
          const inFolder = folder.id === leaf.id ? messages : [];
          return sendList(
            res,
            url,
            `${context}/mailFolders('${folder.id}')/messages`,
            queryMessages(inFolder, url),
            (m) => messageJson(m, leaf.id),
            messageProperties,
          );
        }
      }
      if (rest[0] === 'messages' && rest.length >= 2) {
        const message = messages.find((m) => m.id === rest[1]);
        if (!message) throw new HttpError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
        if (rest.length === 2) {
          return sendJson(res, 200, {
            '@odata.context': `${context}/messages/$entity`,
            ...select(messageJson(message, leaf.id), url, messageProperties),
          });
        }
        if (rest[2] === 'attachments') {
          if (rest.length === 3) {
            return sendList(
              res,
              url,
              `${context}/messages('${message.id}')/attachments`,
              message.attachments,
              (a) => attachmentJson(a, message, false),
              attachmentProperties,
            );
          }
          const attachment = message.attachments.find((a) => a.id === rest[3]);
          if (!attachment) {
            throw new HttpError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
          }
          if (rest.length === 4) {
            return sendJson(res, 200, {
              '@odata.context': `${context}/messages('${message.id}')/attachments/$entity`,
              ...select(attachmentJson(attachment, message, true), url, attachmentProperties),
            });
          }
          if (rest.length === 5 && rest[4] === '$value') {
            res.writeHead(200, {
              'content-type': attachment.kind === 'item' ? 'message/rfc822' : attachment.contentType,
              'content-length': attachment.content.byteLength,
            });
            res.end(attachment.content);
            return;
          }
        }
      }
      throw new HttpError(400, 'BadRequest', `Resource not found for the segment '${rest.at(-1) ?? ''}'.`);
    }
  });

  async function issueToken(req: IncomingMessage, res: ServerResponse, tenant: string): Promise<void> {
    const fail = (status: number, error: string, description: string) =>
      sendJson(res, status, {
        error,
        error_description: description,
        error_codes: [Number(/\d+/.exec(description)?.[0])],
      });
    if (req.method !== 'POST') {
      return fail(405, 'invalid_request', 'AADSTS900561: The endpoint only accepts POST requests.');
    }
    const form = new URLSearchParams(await readBody(req));
    if (options.tenantId && tenant !== options.tenantId) {
      return fail(400, 'invalid_request', `AADSTS90002: Tenant '${tenant}' not found.`);
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return fail(400, 'unsupported_grant_type', 'AADSTS70003: The app requested an unsupported grant type.');
    }
    if (!form.get('client_id')) {
      return fail(400, 'invalid_request', "AADSTS900144: The request body must contain the parameter 'client_id'.");
    }
    const secret = form.get('client_secret');
    if (!secret || (options.clientSecret !== undefined && secret !== options.clientSecret)) {
      return fail(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
    }
    if (!form.get('scope')?.endsWith('/.default')) {
      return fail(400, 'invalid_scope', 'AADSTS1002012: The provided value for scope is not valid.');
    }
    const token = `fake.${randomUUID()}`;
    tokens.add(token);
    sendJson(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
  }

  function sendList<T>(
    res: ServerResponse,
    url: URL,
    context: string,
    items: T[],
    toJson: (item: T) => Record<string, unknown>,
    properties: Set<string>,
  ): void {
    const top = integerParam(url, '$top', 10, 1, 1000);
    const skip = integerParam(url, '$skip', 0, 0, Number.MAX_SAFE_INTEGER);
    const page = items.slice(skip, skip + top).map((item) => select(toJson(item), url, properties));
    const body: Record<string, unknown> = { '@odata.context': context, value: page };
    if (skip + top < items.length) {
      const next = new URL(url.pathname + url.search, origin);
      next.searchParams.set('$skip', String(skip + top));
      body['@odata.nextLink'] = next.toString();
    }
    sendJson(res, 200, body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    graphBaseUrl: `${origin}/v1.0`,
    authorityHost: origin,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    expireTokens() {
      tokens.clear();
    },
    stop() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

/** Reads every `.eml` file of a directory, as Exchange would show the messages. */
export async function loadMailboxDir(dir: string): Promise<FakeMessage[]> {
  const names = (await readdir(dir)).filter((name) => name.toLowerCase().endsWith('.eml')).sort();
  return Promise.all(names.map(async (name) => parseEml(await readFile(join(dir, name)), name)));
}

async function parseEml(raw: Buffer, fileName: string): Promise<FakeMessage> {
  const mail = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
  const sent = mail.date ?? new Date(0);
  const internetMessageId = mail.messageId ?? `<${fileName}@local>`;
  const sender = mail.from?.value[0];
  return {
    id: graphId(mail.messageId ?? fileName),
    internetMessageId,
    subject: mail.subject ?? '',
    from: sender?.address ?? '',
    ...(sender?.name ? { fromName: sender.name } : {}),
    to: (Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : []).flatMap((a) =>
      a.value.map((v) => v.address ?? ''),
    ),
    receivedDateTime: graphTime(receivedTime(mail.headerLines) ?? sent),
    sentDateTime: graphTime(sent),
    bodyPreview: (mail.text ?? '').replace(/\s+/g, ' ').trim().slice(0, 255),
    attachments: mail.attachments.map((a) => ({
      name: a.filename ?? 'attachment',
      contentType: a.contentType,
      content: a.content,
      isInline: a.contentDisposition === 'inline' || (Boolean(a.contentId) && a.contentType.startsWith('image/')),
      ...(a.contentId ? { contentId: a.contentId.replace(/^<|>$/g, '') } : {}),
      kind: a.contentType === 'message/rfc822' ? ('item' as const) : ('file' as const),
    })),
  };
}

/** The newest `Received:` header (each hop adds one on top) tells when the mailbox got the message. */
function receivedTime(headerLines: readonly { key: string; line: string }[]): Date | undefined {
  const line = headerLines.find((h) => h.key === 'received')?.line;
  if (!line) return undefined;
  const unfolded = line.replace(/\r?\n[ \t]+/g, ' ');
  const stamp = unfolded.slice(unfolded.lastIndexOf(';') + 1).trim();
  const time = Date.parse(stamp);
  return Number.isNaN(time) ? undefined : new Date(time);
}

function storeMessage(message: FakeMessage): StoredMessage {
  const id = message.id ?? graphId(message.internetMessageId);
  return {
    ...message,
    id,
    attachments: message.attachments.map((a, i) => ({ ...a, id: graphId(`${id}/${i}`) })),
  };
}

function buildFolders(path: string): { folders: Map<string, Folder>; leaf: Folder } {
  const folders = new Map<string, Folder>();
  const root: Folder = {
    id: graphId('msgfolderroot'),
    displayName: 'Top of Information Store',
    parentFolderId: '',
    wellKnownName: 'msgfolderroot',
  };
  folders.set('msgfolderroot', root);
  for (const [displayName, wellKnownName] of standardFolders) {
    folders.set(wellKnownName, { id: graphId(wellKnownName), displayName, parentFolderId: root.id, wellKnownName });
  }
  let parent = root;
  for (const segment of path
    .split('/')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const existing = [...folders.values()].find(
      (f) => f.parentFolderId === parent.id && f.displayName.toLowerCase() === segment.toLowerCase(),
    );
    if (existing) {
      parent = existing;
      continue;
    }
    const folder: Folder = { id: graphId(`${parent.id}/${segment}`), displayName: segment, parentFolderId: parent.id };
    folders.set(folder.id, folder);
    parent = folder;
  }
  return { folders, leaf: parent };
}

function findFolder(folders: Map<string, Folder>, idOrWellKnown: string): Folder {
  const folder = folders.get(idOrWellKnown.toLowerCase()) ?? [...folders.values()].find((f) => f.id === idOrWellKnown);
  if (!folder) throw new HttpError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
  return folder;
}

function filterFolders(list: Folder[], url: URL): Folder[] {
  const filter = url.searchParams.get('$filter');
  if (!filter) return list;
  const m = /^displayName eq '((?:[^']|'')*)'$/i.exec(filter.trim());
  if (!m) throw invalidFilter();
  const name = (m[1] ?? '').replace(/''/g, "'").toLowerCase();
  return list.filter((f) => f.displayName.toLowerCase() === name);
}

interface Clause {
  property: string;
  operator: string;
  value: string;
}

const comparisons: Record<string, (a: number, b: number) => boolean> = {
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
};

function queryMessages(messages: StoredMessage[], url: URL): StoredMessage[] {
  const filter = url.searchParams.get('$filter');
  const clauses: Clause[] = filter
    ? filter
        .trim()
        .split(/\s+and\s+/i)
        .map((text) => {
          const m = /^(\w+)\s+(eq|ne|gt|ge|lt|le)\s+(\S+)$/i.exec(text.trim());
          if (!m) throw invalidFilter();
          return { property: m[1] ?? '', operator: (m[2] ?? '').toLowerCase(), value: m[3] ?? '' };
        })
    : [];
  const tests = clauses.map(clauseTest);

  const orderby = url.searchParams.get('$orderby');
  let order: { property: 'receivedDateTime' | 'sentDateTime'; descending: boolean } = {
    property: 'receivedDateTime',
    descending: true,
  };
  if (orderby) {
    const m = /^(receivedDateTime|sentDateTime)(?:\s+(asc|desc))?$/i.exec(orderby.trim());
    if (!m) throw new HttpError(400, 'BadRequest', `Unsupported $orderby '${orderby}'.`);
    const property = (m[1] ?? '').toLowerCase() === 'sentdatetime' ? 'sentDateTime' : 'receivedDateTime';
    // Exchange refuses a sort whose property is not the first one filtered on.
    if (clauses.length > 0 && clauses[0]?.property.toLowerCase() !== property.toLowerCase()) {
      throw new HttpError(400, 'InefficientFilter', 'The restriction or sort order is too complex for this operation.');
    }
    order = { property, descending: (m[2] ?? 'asc').toLowerCase() === 'desc' };
  }
  return messages
    .filter((message) => tests.every((test) => test(message)))
    .sort((a, b) => {
      const diff = Date.parse(a[order.property]) - Date.parse(b[order.property]);
      return (order.descending ? -diff : diff) || a.id.localeCompare(b.id);
    });
}

function clauseTest(clause: Clause): (message: StoredMessage) => boolean {
  const compare = comparisons[clause.operator];
  if (!compare) throw invalidFilter();
  switch (clause.property.toLowerCase()) {
    case 'receiveddatetime':
    case 'sentdatetime': {
      const property = clause.property.toLowerCase() === 'sentdatetime' ? 'sentDateTime' : 'receivedDateTime';
      if (!/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(clause.value)) throw invalidFilter();
      const limit = Date.parse(clause.value);
      return (message) => compare(Date.parse(message[property]), limit);
    }
    case 'hasattachments': {
      if (clause.value !== 'true' && clause.value !== 'false') throw invalidFilter();
      const wanted = clause.value === 'true' ? 1 : 0;
      return (message) => compare(hasAttachments(message) ? 1 : 0, wanted);
    }
    default:
      throw invalidFilter();
  }
}

function invalidFilter(): HttpError {
  return new HttpError(400, 'ErrorInvalidUrlQueryFilter', 'The query filter contains one or more invalid nodes.');
}

/** As in Exchange, inline attachments do not make a message one "with attachments". */
function hasAttachments(message: StoredMessage): boolean {
  return message.attachments.some((a) => !a.isInline);
}

function select(json: Record<string, unknown>, url: URL, properties: Set<string>): Record<string, unknown> {
  const wanted = url.searchParams.get('$select');
  if (!wanted) return json;
  const names = wanted.split(',').map((s) => s.trim());
  const unknown = names.find((name) => !properties.has(name));
  if (unknown) throw new HttpError(400, 'RequestBroker--ParseUri', `Could not find a property named '${unknown}'.`);
  return Object.fromEntries(
    Object.entries(json).filter(([key]) => key.startsWith('@odata.') || key === 'id' || names.includes(key)),
  );
}

function folderJson(folder: Folder): Record<string, unknown> {
  return {
    id: folder.id,
    displayName: folder.displayName,
    parentFolderId: folder.parentFolderId,
    childFolderCount: 0,
    unreadItemCount: 0,
    totalItemCount: 0,
    isHidden: false,
  };
}

function messageJson(message: StoredMessage, folderId: string): Record<string, unknown> {
  const address = { emailAddress: { name: message.fromName ?? message.from, address: message.from } };
  return {
    '@odata.etag': `W/"${graphId(`${message.id}/etag`).slice(0, 24)}"`,
    id: message.id,
    createdDateTime: message.receivedDateTime,
    lastModifiedDateTime: message.receivedDateTime,
    changeKey: graphId(`${message.id}/change`).slice(0, 24),
    categories: [],
    receivedDateTime: message.receivedDateTime,
    sentDateTime: message.sentDateTime,
    hasAttachments: hasAttachments(message),
    internetMessageId: message.internetMessageId,
    subject: message.subject,
    bodyPreview: message.bodyPreview ?? '',
    body: { contentType: 'text', content: message.bodyPreview ?? '' },
    importance: 'normal',
    parentFolderId: folderId,
    conversationId: graphId(`${message.subject}/conversation`),
    isRead: false,
    isDraft: false,
    from: address,
    sender: address,
    toRecipients: (message.to ?? []).map((to) => ({ emailAddress: { name: to, address: to } })),
    ccRecipients: [],
  };
}

function attachmentJson(attachment: StoredAttachment, message: StoredMessage, withContent: boolean) {
  const item = attachment.kind === 'item';
  return {
    '@odata.type': item ? '#microsoft.graph.itemAttachment' : '#microsoft.graph.fileAttachment',
    ...(item ? {} : { '@odata.mediaContentType': attachment.contentType }),
    id: attachment.id,
    lastModifiedDateTime: message.receivedDateTime,
    name: attachment.name,
    contentType: attachment.contentType,
    size: attachment.content.byteLength,
    isInline: attachment.isInline ?? false,
    ...(item ? {} : { contentId: attachment.contentId ?? null }),
    ...(withContent && !item ? { contentBytes: attachment.content.toString('base64') } : {}),
  };
}

function integerParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new HttpError(400, 'BadRequest', `Invalid value '${raw}' for query option ${name}.`);
  }
  return value;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type':
      'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'request-id': randomUUID(),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** An Exchange-looking id, stable for the same source. */
function graphId(source: string): string {
  return `AAMkAG${createHash('sha256').update(source).digest('base64url')}=`;
}

/** Graph writes instants to the second, in UTC. */
function graphTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
