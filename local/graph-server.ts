import { constants, createHash, randomUUID, verify, X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { type MailParserOptions, simpleParser } from 'mailparser';
import { isInlinePart, isMessage, readMimeHeaders } from '../functions/collect/mime.ts';
import type { Config } from '../functions/common/config.ts';
import { selfSignedCertificate } from './certificate.ts';
import { createFakeSharePoint, type FakeSharePoint, type FakeSharePointOptions } from './fake-sharepoint.ts';
import { HttpError, readBody, sendJson } from './graph-http.ts';

/**
 * A stand-in for Microsoft Graph v1.0 on loopback HTTPS, shaped like the real service for
 * the calls the collect stage makes: the authority's OpenID configuration and its
 * client-credentials token endpoint (client secret or certificate assertion), mail folders by well-known name and display name, a
 * folder's messages with `$filter`, `$select`, `$orderby`, `$top` and `$skip` paging, file
 * and item attachments and their raw `$value`, and moving a message to another folder; and,
 * when given sites, SharePoint document libraries taking file uploads (local/fake-sharepoint.ts).
 */

export interface FakeAttachment {
  name: string;
  contentType: string;
  content: Buffer;
  isInline?: boolean;
  contentId?: string;
  /** `item` for an attached mail: `content` is its MIME, `name` its subject, as Exchange shows it; `reference` for a link to a cloud file. */
  kind?: 'file' | 'item' | 'reference';
}

/** What the app registration was granted: Mail.Read reads, Mail.ReadWrite also moves. */
export type FakePermission = 'none' | 'Mail.Read' | 'Mail.ReadWrite';

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
  /** Answer every request about this message with this error, as Exchange does for an item it cannot serve. */
  failWith?: { status: number; code: string; message: string };
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
  /** The certificate (PEM) uploaded to the app registration: client assertions must be signed with its key. */
  clientCertificatePem?: string;
  /** Answer the first `requests` mailbox requests with this status (default 429), and Retry-After when given. */
  throttle?: { requests: number; status?: 429 | 503 | 504; retryAfterSeconds?: number };
  /** Default Mail.Read; `none` answers every mailbox request 403. */
  permission?: FakePermission;
  /** More folder paths to create, e.g. where processed messages are moved. */
  folders?: string[];
  /** `$value` bodies are written in chunks this large, as a large attachment streams (default 64 KiB). */
  chunkBytes?: number;
  /** Cut the first `downloads` `$value` transfers off halfway, as a dropped connection does. */
  interrupt?: { downloads: number };
  /** Concurrent requests allowed per mailbox before 429 (Exchange: 4). */
  maxConcurrent?: number;
  /** SharePoint sites whose libraries take uploads, and where their files are kept. */
  sharepoint?: FakeSharePointOptions;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** A token request's form fields. */
  form?: Record<string, string>;
}

export interface FakeGraph {
  /** e.g. `https://127.0.0.1:PORT/v1.0` */
  graphBaseUrl: string;
  /** e.g. `https://127.0.0.1:PORT` */
  authorityHost: string;
  /**
   * The certificate (PEM) the fake serves HTTPS with, its own root: this process trusts it;
   * another process is given it in NODE_EXTRA_CA_CERTS.
   */
  certificatePem: string;
  /** Every request, in the order they were answered. */
  readonly requests: readonly RecordedRequest[];
  /** The most mailbox requests that were in flight at once. */
  readonly maxInFlight: number;
  /** Invalidates every issued token, as when they expire. */
  expireTokens(): void;
  /** Internet message ids of the messages in a folder, by path. */
  messagesIn(folderPath: string): string[];
  /** The SharePoint libraries' files and the app's grants, when sites were given. */
  sharepoint: Pick<FakeSharePoint, 'files' | 'setAccess'> | undefined;
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
  folderId: string;
  attachments: StoredAttachment[];
}

const wellKnownFolderNames: [string, string][] = [
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

/** The configured mailbox as the fake serves it: its user, folder and tenant. */
export function fakeMailboxOf(config: Config): Pick<FakeGraphOptions, 'user' | 'folderPath' | 'tenantId'> {
  return { user: config.mailbox.user, folderPath: config.mailbox.folder, tenantId: config.mailbox.tenantId };
}

/** The configured mailbox pointed at this fake, with a credential it takes (it checks no secret unless told to). */
export function fakeGraphAccess(config: Config, graph: Pick<FakeGraph, 'graphBaseUrl' | 'authorityHost'>) {
  return {
    mailbox: { ...config.mailbox, graphBaseUrl: graph.graphBaseUrl, authorityHost: graph.authorityHost },
    credential: { clientSecret: 'local-client-secret' },
  };
}

export async function startFakeGraph(options: FakeGraphOptions): Promise<FakeGraph> {
  const sourceMessages = options.messages ?? (options.mailboxDir ? await loadMailboxDir(options.mailboxDir) : []);
  const folders = standardFolders();
  const leaf = walkFolders(folders, options.folderPath, true);
  for (const path of options.folders ?? []) walkFolders(folders, path, true);
  const rootId = folders.get('msgfolderroot')?.id ?? '';
  const messages = sourceMessages.map((m) => storeMessage(m, leaf.id));
  const permission = options.permission ?? 'Mail.Read';
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  let interruptsLeft = options.interrupt?.downloads ?? 0;
  const user = options.user.toLowerCase();
  const maxConcurrent = options.maxConcurrent ?? 4;
  const tokens = new Set<string>();
  const requests: RecordedRequest[] = [];
  let throttleLeft = options.throttle?.requests ?? 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let origin = '';
  const sharepoint = options.sharepoint && createFakeSharePoint(options.sharepoint);

  const server = createServer({ cert: tls.certificatePem, key: tls.privateKeyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const query = Object.fromEntries(url.searchParams);
    let counted = false;
    let form: URLSearchParams | undefined;
    res.on('close', () => {
      if (counted) inFlight--;
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query,
        status: res.statusCode,
        ...(form ? { form: Object.fromEntries(form) } : {}),
      });
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
      if (tokenPath) {
        form = new URLSearchParams(await readBody(req));
        return issueToken(req, res, decodeURIComponent(tokenPath[1] ?? ''), form);
      }
      const configurationPath = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
      if (configurationPath) return sendJson(res, 200, openIdConfiguration(origin, configurationPath[1] ?? ''));
      // An upload session's URL is pre-authenticated: no token.
      if (sharepoint && url.pathname.startsWith('/upload/')) {
        await sharepoint.handle(req, res, url, origin);
        return;
      }
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
        const status = options.throttle?.status ?? 429;
        const [code, message] =
          status === 429
            ? ['ApplicationThrottled', 'Application is over its IncomingBytes limit.']
            : status === 503
              ? ['ServiceUnavailable', 'The service is temporarily unavailable.']
              : ['GatewayTimeout', 'The gateway did not receive a timely response.'];
        const retryAfter = options.throttle?.retryAfterSeconds;
        throw new HttpError(
          status,
          code,
          message,
          retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) },
        );
      }
      if (sharepoint && (await sharepoint.handle(req, res, url, origin))) return;
      const moving = /^\/v1\.0\/users\/[^/]+\/messages\/[^/]+\/move$/.test(url.pathname);
      if (req.method !== (moving ? 'POST' : 'GET')) {
        throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not supported here.`);
      }

      const segments = url.pathname.slice('/v1.0/'.length).split('/').map(decodeURIComponent);
      if (segments[0] !== 'users' || segments.length < 3) {
        throw new HttpError(400, 'BadRequest', `Resource not found for the segment '${segments[0] ?? ''}'.`);
      }
      if ((segments[1] ?? '').toLowerCase() !== user) {
        throw new HttpError(404, 'ErrorInvalidUser', `The requested user '${segments[1]}' is invalid.`);
      }
      if (permission === 'none' || (moving && permission !== 'Mail.ReadWrite')) {
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
          const inFolder = messages.filter((m) => m.folderId === folder.id);
          return sendList(
            res,
            url,
            `${context}/mailFolders('${folder.id}')/messages`,
            queryMessages(inFolder, url),
            messageJson,
            messageProperties,
          );
        }
      }
      if (rest[0] === 'messages' && rest.length >= 2) {
        const message = messages.find((m) => m.id === rest[1]);
        if (!message) throw new HttpError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
        if (message.failWith)
          throw new HttpError(message.failWith.status, message.failWith.code, message.failWith.message);
        if (moving) {
          const destinationId = (JSON.parse((await readBody(req)) || '{}') as { destinationId?: unknown })
            .destinationId;
          if (typeof destinationId !== 'string') {
            throw new HttpError(400, 'ErrorInvalidRequest', 'The destinationId parameter is required.');
          }
          const destination = findFolder(folders, destinationId);
          // Exchange gives a moved message a new id.
          message.folderId = destination.id;
          message.id = graphId(`${message.id}/moved/${destination.id}`);
          return sendJson(res, 201, {
            '@odata.context': `${context}/messages/$entity`,
            ...messageJson(message),
          });
        }
        if (rest.length === 2) {
          return sendJson(res, 200, {
            '@odata.context': `${context}/messages/$entity`,
            ...select(messageJson(message), url, messageProperties),
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
            if (attachment.kind === 'reference') {
              throw new HttpError(400, 'ErrorInvalidRequest', 'A reference attachment has no content to download.');
            }
            // A file attachment's raw bytes, or an item attachment's MIME, streamed as it comes.
            res.writeHead(200, {
              'content-type': attachment.kind === 'item' ? 'message/rfc822' : attachment.contentType,
            });
            const interrupted = interruptsLeft > 0;
            if (interrupted) interruptsLeft--;
            const length = interrupted ? Math.floor(attachment.content.byteLength / 2) : attachment.content.byteLength;
            for (let offset = 0; offset < length; offset += chunkBytes) {
              if (!res.write(attachment.content.subarray(offset, Math.min(length, offset + chunkBytes)))) {
                await new Promise((resolve) => res.once('drain', resolve));
              }
            }
            if (interrupted) res.destroy();
            else res.end();
            return;
          }
        }
      }
      throw new HttpError(400, 'BadRequest', `Resource not found for the segment '${rest.at(-1) ?? ''}'.`);
    }
  });

  function issueToken(req: IncomingMessage, res: ServerResponse, tenant: string, form: URLSearchParams) {
    const fail = (status: number, error: string, description: string) =>
      sendJson(res, status, {
        error,
        error_description: description,
        error_codes: [Number(/\d+/.exec(description)?.[0])],
      });
    if (req.method !== 'POST') {
      return fail(405, 'invalid_request', 'AADSTS900561: The endpoint only accepts POST requests.');
    }
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
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        return fail(400, 'invalid_request', 'AADSTS50027: JWT token is invalid or malformed.');
      }
      const refusal = assertionRefusal(assertion, {
        certificatePem: options.clientCertificatePem,
        clientId: form.get('client_id') ?? '',
        audience: `${origin}/${tenant}/oauth2/v2.0/token`,
      });
      if (refusal) return fail(401, 'invalid_client', refusal);
    } else if (secret === null) {
      return fail(
        401,
        'invalid_client',
        "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    } else if (options.clientSecret !== undefined && secret !== options.clientSecret) {
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
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    graphBaseUrl: `${origin}/v1.0`,
    authorityHost: origin,
    certificatePem: tls.certificatePem,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    expireTokens() {
      tokens.clear();
    },
    sharepoint,
    messagesIn(folderPath) {
      const folder = walkFolders(folders, folderPath, false);
      return messages.filter((m) => m.folderId === folder.id).map((m) => m.internetMessageId);
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

/**
 * `ignoreEmbedded` (a mailsplit option MailParser passes on) keeps an attached message as one
 * `message/rfc822` part, as Exchange keeps it one item attachment.
 */
const mimeParserOptions: MailParserOptions & { ignoreEmbedded: boolean } = {
  ignoreEmbedded: true,
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipImageLinks: true,
  skipTextLinks: true,
};

async function parseEml(raw: Buffer, fileName: string): Promise<FakeMessage> {
  const mail = await simpleParser(raw, mimeParserOptions);
  const received = (await readMimeHeaders(Readable.from([raw])))?.received;
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
    receivedDateTime: graphTime(received ?? sent),
    sentDateTime: graphTime(sent),
    bodyPreview: (mail.text ?? '').replace(/\s+/g, ' ').trim().slice(0, 255),
    attachments: await Promise.all(
      mail.attachments.map(async (a): Promise<FakeAttachment> => {
        if (isMessage(a.contentType)) {
          // Exchange names an item attachment after the attached message's subject.
          const inner = await simpleParser(a.content, mimeParserOptions);
          return {
            name: inner.subject ?? a.filename ?? '',
            contentType: a.contentType,
            content: a.content,
            kind: 'item',
          };
        }
        return {
          name: a.filename ?? 'attachment',
          contentType: a.contentType,
          content: a.content,
          isInline: isInlinePart(a.contentType, a.contentDisposition, a.contentId),
          ...(a.contentId ? { contentId: a.contentId.replace(/^<|>$/g, '') } : {}),
          kind: 'file',
        };
      }),
    ),
  };
}

function storeMessage(message: FakeMessage, folderId: string): StoredMessage {
  const id = message.id ?? graphId(message.internetMessageId);
  return {
    ...message,
    id,
    folderId,
    attachments: message.attachments.map((a, i) => ({ ...a, id: graphId(`${id}/${i}`) })),
  };
}

/** The root and the well-known folders under it, by well-known name. */
function standardFolders(): Map<string, Folder> {
  const folders = new Map<string, Folder>();
  const root: Folder = {
    id: graphId('msgfolderroot'),
    displayName: 'Top of Information Store',
    parentFolderId: '',
    wellKnownName: 'msgfolderroot',
  };
  folders.set('msgfolderroot', root);
  for (const [displayName, wellKnownName] of wellKnownFolderNames) {
    folders.set(wellKnownName, { id: graphId(wellKnownName), displayName, parentFolderId: root.id, wellKnownName });
  }
  return folders;
}

/** The folder at a path of display names from the root, made along the way when `create`. */
function walkFolders(folders: Map<string, Folder>, path: string, create: boolean): Folder {
  let parent = folders.get('msgfolderroot') as Folder;
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
    if (!create) throw new Error(`No folder ${path} in the fake mailbox`);
    const folder: Folder = { id: graphId(`${parent.id}/${segment}`), displayName: segment, parentFolderId: parent.id };
    folders.set(folder.id, folder);
    parent = folder;
  }
  return parent;
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

function messageJson(message: StoredMessage): Record<string, unknown> {
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
    parentFolderId: message.folderId,
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
  const kind = attachment.kind ?? 'file';
  const file = kind === 'file';
  return {
    '@odata.type': `#microsoft.graph.${kind}Attachment`,
    ...(file ? { '@odata.mediaContentType': attachment.contentType } : {}),
    id: attachment.id,
    lastModifiedDateTime: message.receivedDateTime,
    name: attachment.name,
    contentType: kind === 'item' ? null : attachment.contentType,
    size: attachment.content.byteLength,
    isInline: attachment.isInline ?? false,
    ...(file ? { contentId: attachment.contentId ?? null } : {}),
    ...(withContent && file ? { contentBytes: attachment.content.toString('base64') } : {}),
  };
}

/**
 * Why Entra ID would refuse a client assertion, or undefined when it accepts it: a JWT
 * naming the registered certificate by thumbprint (`x5t#S256`, or SHA-1 `x5t`), signed with
 * its key (PS256, or RS256), for this token endpoint, issued by and about the client, in date.
 */
function assertionRefusal(
  assertion: string,
  expected: { certificatePem: string | undefined; clientId: string; audience: string },
): string | undefined {
  const malformed = 'AADSTS50027: JWT token is invalid or malformed.';
  const [headerPart, claimsPart, signaturePart, extra] = assertion.split('.');
  if (!headerPart || !claimsPart || !signaturePart || extra !== undefined) return malformed;
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(claimsPart, 'base64url').toString('utf8'));
  } catch {
    return malformed;
  }
  if (!expected.certificatePem) {
    return `AADSTS700027: No certificate is registered on application ${expected.clientId}.`;
  }
  const certificate = new X509Certificate(expected.certificatePem);
  const thumbprint = (algorithm: string) => createHash(algorithm).update(certificate.raw).digest('base64url');
  if (header['x5t#S256'] !== thumbprint('sha256') && header.x5t !== thumbprint('sha1')) {
    return 'AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.';
  }
  if (header.alg !== 'PS256' && header.alg !== 'RS256') return malformed;
  const signed = verify(
    'sha256',
    Buffer.from(`${headerPart}.${claimsPart}`),
    {
      key: certificate.publicKey,
      ...(header.alg === 'PS256'
        ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
        : {}),
    },
    Buffer.from(signaturePart, 'base64url'),
  );
  if (!signed) return 'AADSTS700027: Client assertion failed signature validation.';
  if (claims.aud !== expected.audience) {
    return `AADSTS700021: Client assertion audience claim does not match Realm issuer (${expected.audience}).`;
  }
  if (claims.iss !== expected.clientId || claims.sub !== expected.clientId) {
    return 'AADSTS700023: Client assertion issuer and subject must be the client id.';
  }
  const seconds = Date.now() / 1000;
  const skew = 300;
  if (typeof claims.exp !== 'number' || claims.exp < seconds - skew || (Number(claims.nbf) || 0) > seconds + skew) {
    return 'AADSTS700024: Client assertion is not within its valid time range.';
  }
  return undefined;
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

/**
 * One certificate for every fake in the process, trusted by it once: a client verifies the
 * fake's TLS as it verifies Microsoft's.
 */
const tls = (() => {
  // A name of its own: a process trusting two fakes' certificates (its own and another
  // process's, from NODE_EXTRA_CA_CERTS) must not take one for the issuer of the other.
  const certificate = selfSignedCertificate(`Charlie Reporting local Graph ${randomUUID()}`, {
    ips: [[127, 0, 0, 1]],
    dns: ['localhost'],
  });
  setDefaultCACertificates([...getCACertificates('default'), certificate.certificatePem]);
  return certificate;
})();

/** The authority's OpenID configuration, as Entra ID publishes it for a tenant (the fields a client reads). */
function openIdConfiguration(origin: string, tenant: string): Record<string, unknown> {
  const authority = `${origin}/${tenant}`;
  return {
    token_endpoint: `${authority}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${authority}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${origin}/oidc/userinfo`,
    authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${authority}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'cloud_instance_name',
      'cloud_instance_host_name',
      'cloud_graph_host_name',
      'msgraph_host',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    kerberos_endpoint: `${authority}/kerberos`,
    tenant_region_scope: 'NA',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: new URL(origin).host,
    rbac_url: 'https://pas.windows.net',
  };
}

/** An Exchange-looking id, stable for the same source. */
function graphId(source: string): string {
  return `AAMkAG${createHash('sha256').update(source).digest('base64url')}=`;
}

/** Graph writes instants to the second, in UTC. */
function graphTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
