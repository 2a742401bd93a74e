import type { Config } from '../common/config.ts';
import { createGraphClient, type GraphClient } from '../common/graph/client.ts';
import type { GraphCredential } from '../common/graph/credential.ts';
import { GraphError } from '../common/graph/error.ts';
import { createTokenProvider } from '../common/graph/token.ts';
import { createFolderResolver } from './graph-folders.ts';
import type { MailAttachment, MailMessage, MailSource } from './mail.ts';

export { GraphError } from '../common/graph/error.ts';

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
}

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

function readPage(json: unknown): { items: Json[]; nextLink: string | undefined } | undefined {
  if (!isJson(json) || !Array.isArray(json.value) || !json.value.every(isJson)) return undefined;
  const nextLink = json['@odata.nextLink'];
  if (nextLink !== undefined && typeof nextLink !== 'string') return undefined;
  return { items: json.value, nextLink };
}

/** The Graph mailbox, whose attachments are listed, then each downloaded on its own. */
export interface GraphMailSource extends MailSource {
  /** Throttled answers (429, 503, 504) retried so far. */
  readonly throttled: number;
  attachments(messageId: string): Promise<MailAttachment[]>;
  download<T>(
    messageId: string,
    attachmentId: string,
    consume: (chunks: AsyncIterable<Uint8Array>) => Promise<T>,
  ): Promise<T>;
}

/**
 * The mailbox folder through Microsoft Graph v1.0 with an app-only (client credentials)
 * token: the window's messages page by page, each message's attachments, their `$value`.
 */
export function createGraphMailSource(options: GraphMailOptions): GraphMailSource {
  const { mailbox } = options;
  const pageSize = options.pageSize ?? 100;
  const base = mailbox.graphBaseUrl.replace(/\/+$/, '');
  const userPath = `${base}/users/${encodeURIComponent(mailbox.user)}`;
  let throttled = 0;
  const graph = createGraphClient({
    baseUrl: base,
    tokens: createTokenProvider({ mailbox, credential: options.credential }),
    ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
    ...(options.retry ? { retry: options.retry } : {}),
    onThrottled: () => {
      throttled++;
    },
    describe: ({ status, code, message, permission, context }) => {
      const detail = message ? `: ${message}` : '';
      if (status === 403) {
        return (
          `Microsoft Graph denied access to mailbox ${mailbox.user} while ${context} (403 ${code}${detail}). ` +
          `The app registration ${mailbox.clientId} needs ${permission} on this mailbox: an "Application ${permission}" ` +
          'role assignment in Exchange RBAC for Applications whose scope includes the mailbox, or the Microsoft Graph ' +
          `application permission ${permission} with admin consent (tenant-wide)` +
          (permission === 'Mail.ReadWrite' ? '; or turn off mailbox.moveProcessedTo.' : '.')
        );
      }
      if (status === 404 && code === 'ErrorInvalidUser') {
        return `Mailbox ${mailbox.user} does not exist in tenant ${mailbox.tenantId}${detail}`;
      }
      return undefined;
    },
  });
  const folders = createFolderResolver(graph, userPath, mailbox.user);

  const source: GraphMailSource = {
    name: `${mailbox.user}:${mailbox.folder}`,
    origin: 'graph',
    get throttled() {
      return throttled;
    },

    async *messages(window) {
      const folder = await folders.folderId(mailbox.folder);
      const filter =
        `receivedDateTime ge ${graphInstant(window.start)} and receivedDateTime lt ${graphInstant(window.end)}` +
        ' and hasAttachments eq true';
      const url =
        `${userPath}/mailFolders/${encodeURIComponent(folder)}/messages` +
        `?$filter=${encodeURIComponent(filter)}&$orderby=${encodeURIComponent('receivedDateTime asc')}` +
        `&$select=${messageFields.join(',')}&$top=${pageSize}`;
      yield* pages(graph, url, readMessage, 'listing messages');
    },

    async attachments(messageId) {
      const url = `${userPath}/messages/${encodeURIComponent(messageId)}/attachments?$select=${attachmentFields.join(',')}`;
      const result: MailAttachment[] = [];
      for await (const attachment of pages(
        graph,
        url,
        readAttachment,
        `listing the attachments of message ${messageId}`,
      )) {
        result.push(attachment);
      }
      return result;
    },

    download(messageId, attachmentId, consume) {
      const url = `${userPath}/messages/${encodeURIComponent(messageId)}/attachments/${encodeURIComponent(attachmentId)}/$value`;
      return graph.download(
        url,
        { context: `downloading attachment ${attachmentId} of message ${messageId}` },
        consume,
      );
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
      const destinationId = await folders.folderId(moveTo);
      const url = `${userPath}/messages/${encodeURIComponent(messageId)}/move`;
      try {
        await graph.postJson(
          url,
          { destinationId },
          { context: `moving message ${messageId} to ${moveTo}`, permission: 'Mail.ReadWrite' },
        );
      } catch (error) {
        // Moved already: a retried move whose first answer was lost, or someone else filed it.
        if (error instanceof GraphError && error.status === 404 && error.code === 'ErrorItemNotFound') return;
        throw error;
      }
    };
  }
  return source;
}

/** The items of a collection, page after page through `@odata.nextLink`. */
async function* pages<T>(
  graph: GraphClient,
  firstUrl: string,
  read: (item: Json) => T | undefined,
  context: string,
): AsyncGenerator<T> {
  const unexpected = (what: string) =>
    new GraphError(`Unexpected Microsoft Graph response while ${context}: ${what}`, {
      status: 200,
      code: 'UnexpectedResponse',
    });
  for (let url: string | undefined = firstUrl; url; ) {
    const page = readPage(await graph.getJson(url, { context }));
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

function graphInstant(iso: string): string {
  return new Date(iso).toISOString().replace(/\.000Z$/, 'Z');
}
