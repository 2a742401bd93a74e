import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import type { Config, SharePointConfig } from '../common/config.ts';
import type { SharePointCopy } from '../common/contracts.ts';
import { createGraphClient, type GraphClient, type RequestOptions } from '../common/graph/client.ts';
import type { GraphCredential } from '../common/graph/credential.ts';
import { GraphError, isTransientStatus } from '../common/graph/error.ts';
import { createTokenProvider } from '../common/graph/token.ts';
import { logger } from '../common/observability.ts';
import { isTransientAwsError, retry } from '../common/retry.ts';
import { xlsxContentType } from './message.ts';

/** Graph takes a file of up to 4 MiB in one PUT; a larger one goes through an upload session. */
export const simpleUploadMaxBytes = 4 * 1024 * 1024;

/** An upload session's fragments are multiples of 320 KiB; ten of them is the one chunk held in memory at a time. */
export const uploadChunkBytes = 10 * 320 * 1024;

/**
 * The longest a copy may take: Deliver runs five minutes with SharePoint configured, and the email
 * must still go out when SharePoint is too slow, so an unfinished copy is given up as failed.
 */
export const uploadDeadlineMs = 3 * 60_000;

export interface SharePointOptions {
  sharepoint: SharePointConfig;
  /** The mailbox's app registration: the same app, tenant and Graph cloud upload the workbook. */
  mailbox: Pick<Config['mailbox'], 'tenantId' | 'clientId' | 'graphBaseUrl' | 'authorityHost'>;
  /** The app registration's credential, or how to read it when a token is first needed. */
  credential: GraphCredential | (() => Promise<GraphCredential>);
  s3: S3Client;
  retry?: { attempts?: number; baseMs?: number; maxMs?: number; sleep?: (ms: number) => Promise<void> };
  /** Default `uploadDeadlineMs`. */
  deadlineMs?: number;
}

/** The workbook in S3, and the run it belongs to. */
export interface WorkbookToCopy {
  bucket: string;
  key: string;
  bytes: number;
  date: string;
}

export interface SharePointUploader {
  /** Uploads the workbook over the file at its path (a new version of it); a failure is returned, never thrown. */
  upload(workbook: WorkbookToCopy): Promise<SharePointCopy>;
}

/**
 * The workbook copied into a SharePoint document library through Microsoft Graph: up to 4 MiB
 * in one `PUT …/root:/{path}:/content`, larger through an upload session whose chunks stream from
 * S3. Either replaces the file at the path, so SharePoint keeps the earlier uploads as versions.
 */
export function createSharePointUploader(options: SharePointOptions): SharePointUploader {
  const { sharepoint, mailbox, s3 } = options;
  const base = mailbox.graphBaseUrl.replace(/\/+$/, '');
  const site = siteName(sharepoint);
  const library = sharepoint.library ?? sharepoint.driveId ?? 'the default library';
  const attempts = options.retry?.attempts ?? 6;
  const graph = createGraphClient({
    baseUrl: base,
    tokens: createTokenProvider({ mailbox, credential: options.credential }),
    ...(options.retry ? { retry: options.retry } : {}),
    describe: ({ status, code, message, context }) => {
      const detail = message ? `: ${message}` : '';
      if (status === 401 || status === 403) {
        return (
          `Microsoft Graph denied app ${mailbox.clientId} access to SharePoint site ${site} while ${context} (${status} ${code}${detail}). ` +
          'The app needs the Microsoft Graph application permission Sites.Selected, with admin consent, and a write ' +
          'grant on this site: check that the grant is still there (GET /sites/{site-id}/permissions; docs/graph.md, SharePoint).'
        );
      }
      if (status === 404) {
        return (
          `SharePoint site ${site} or its library ${library} was not found while ${context} (404 ${code}${detail}). ` +
          'Check sharepoint.siteId (or hostname and sitePath) and driveId (or library) in the configuration, and that the site and library still exist.'
        );
      }
      return undefined;
    },
  });
  const request = (context: string): RequestOptions => ({ context, permission: 'Sites.Selected' });

  // The library's drive, found once per warm function; a failed lookup is tried again next time.
  let drive: Promise<string> | undefined;
  function driveUrl(): Promise<string> {
    drive ??= findDrive(graph, base, sharepoint, site, request).catch((error: unknown) => {
      drive = undefined;
      throw error;
    });
    return drive;
  }

  const retryOptions = {
    attempts,
    baseMs: options.retry?.baseMs ?? 500,
    maxMs: options.retry?.maxMs ?? 30_000,
    ...(options.retry?.sleep ? { sleep: options.retry.sleep } : {}),
  };

  async function sessionUpload(
    itemUrl: string,
    workbook: WorkbookToCopy,
    path: string,
    deadline: AbortSignal,
  ): Promise<unknown> {
    const context = `uploading ${path} to ${site}`;
    const session = readSession(
      await graph.postJson(
        `${itemUrl}/createUploadSession`,
        { item: { '@microsoft.graph.conflictBehavior': 'replace' } },
        request(`starting an upload session for ${path} on ${site}`),
      ),
    );
    try {
      const object = await getWorkbook(s3, workbook);
      const total = object.ContentLength ?? workbook.bytes;
      let offset = 0;
      let item: unknown;
      for await (const chunk of chunksOf(object.Body as AsyncIterable<Uint8Array>, uploadChunkBytes)) {
        deadline.throwIfAborted();
        item = await putChunk(session.uploadUrl, chunk, offset, total, {
          context,
          deadline,
          retry: retryOptions,
          // A last chunk taken whose answer was lost: the session is gone, the file is there.
          uploaded: async () => {
            const stored = await graph.getJson(itemUrl, request(`reading ${path} back from ${site}`));
            if (readItem(stored).size !== total) {
              throw new GraphError(`The upload session of ${path} ended without the file it was uploading`, {
                status: 0,
                code: 'IncompleteUpload',
              });
            }
            return stored;
          },
        });
        offset += chunk.byteLength;
      }
      if (offset !== total || item === undefined) {
        throw new GraphError(`The workbook's ${offset} bytes read from S3 did not complete its ${total} bytes`, {
          status: 0,
          code: 'IncompleteUpload',
        });
      }
      return item;
    } catch (error) {
      // The bytes taken so far are dropped at once rather than kept until the session expires.
      await fetch(session.uploadUrl, { method: 'DELETE' }).catch(() => undefined);
      throw error;
    }
  }

  return {
    async upload(workbook) {
      const path = filePath(sharepoint, workbook);
      const deadlineMs = options.deadlineMs ?? uploadDeadlineMs;
      const deadline = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new GraphError(`The copy did not finish within ${deadlineMs / 1000} s`, {
            status: 0,
            code: 'Timeout',
          });
          deadline.abort(error);
          reject(error);
        }, deadlineMs);
      });
      try {
        const session = workbook.bytes > simpleUploadMaxBytes;
        const answer = await Promise.race([late, copy(path, workbook, session, deadline.signal)]);
        const item = readItem(answer);
        const copied: SharePointCopy = {
          uploaded: true,
          site,
          path,
          webUrl: item.webUrl,
          itemId: item.id,
          bytes: item.size,
          session,
        };
        logger.info('workbook copied to SharePoint', copied);
        return copied;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        logger.error('workbook not copied to SharePoint; the email goes out without it', {
          site,
          path,
          error: message,
        });
        return { uploaded: false, site, path, error: message };
      } finally {
        clearTimeout(timer);
      }
    },
  };

  async function copy(path: string, workbook: WorkbookToCopy, session: boolean, deadline: AbortSignal) {
    const itemUrl = `${await driveUrl()}/root:/${path.split('/').map(encodeURIComponent).join('/')}:`;
    return session
      ? await sessionUpload(itemUrl, workbook, path, deadline)
      : await graph.putBytes(
          `${itemUrl}/content?@microsoft.graph.conflictBehavior=replace`,
          Buffer.from((await (await getWorkbook(s3, workbook)).Body?.transformToByteArray()) ?? []),
          xlsxContentType,
          request(`uploading ${path} to ${site}`),
        );
  }
}

/** The site as the configuration names it: host name and path, or its id. */
function siteName(sharepoint: SharePointConfig): string {
  return sharepoint.siteId ?? `${sharepoint.hostname}${sharepoint.sitePath}`;
}

/** The file's path in the library: the folder and the file name, their placeholders filled in. */
export function filePath(sharepoint: SharePointConfig, workbook: Pick<WorkbookToCopy, 'key' | 'date'>): string {
  const [yyyy, mm, dd] = workbook.date.split('-');
  const fill = (pattern: string) =>
    pattern
      .replaceAll('{yyyy}', yyyy ?? '')
      .replaceAll('{mm}', mm ?? '')
      .replaceAll('{dd}', dd ?? '')
      .replaceAll('{date}', workbook.date)
      .replaceAll('{workbook}', workbook.key.split('/').pop() ?? workbook.key);
  return [...fill(sharepoint.folder).split('/'), fill(sharepoint.fileName)].filter(Boolean).join('/');
}

/** `…/sites/{site-id}/drives/{drive-id}`: by id as configured, or found by the site's path and the library's name. */
async function findDrive(
  graph: GraphClient,
  base: string,
  sharepoint: SharePointConfig,
  site: string,
  request: (context: string) => RequestOptions,
): Promise<string> {
  const siteId =
    sharepoint.siteId ??
    readId(
      await graph.getJson(
        `${base}/sites/${sharepoint.hostname}:${(sharepoint.sitePath ?? '').split('/').map(encodeURIComponent).join('/')}?$select=id`,
        request(`finding site ${site}`),
      ),
      `site ${site}`,
    );
  const siteUrl = `${base}/sites/${encodeURIComponent(siteId)}`;
  if (sharepoint.driveId) return `${siteUrl}/drives/${encodeURIComponent(sharepoint.driveId)}`;
  if (!sharepoint.library) {
    return `${siteUrl}/drives/${encodeURIComponent(readId(await graph.getJson(`${siteUrl}/drive?$select=id`, request(`finding the default library of ${site}`)), `the default library of ${site}`))}`;
  }
  const answer = await graph.getJson(`${siteUrl}/drives?$select=id,name`, request(`listing the libraries of ${site}`));
  const drives = (isJson(answer) && Array.isArray(answer.value) ? answer.value : []).filter(isJson);
  const wanted = sharepoint.library.toLowerCase();
  const found = drives.find((d) => typeof d.name === 'string' && d.name.toLowerCase() === wanted);
  if (!found) {
    const names = drives.map((d) => String(d.name)).join(', ');
    throw new GraphError(
      `SharePoint site ${site} has no library named ${sharepoint.library} (it has: ${names || 'none'}); check sharepoint.library in the configuration`,
      { status: 404, code: 'LibraryNotFound' },
    );
  }
  return `${siteUrl}/drives/${encodeURIComponent(readId(found, `library ${sharepoint.library}`))}`;
}

async function getWorkbook(s3: S3Client, workbook: WorkbookToCopy): Promise<GetObjectCommandOutput> {
  const object = await retry(() => s3.send(new GetObjectCommand({ Bucket: workbook.bucket, Key: workbook.key })), {
    retryable: isTransientAwsError,
  });
  if (!object.Body) throw new Error(`s3://${workbook.bucket}/${workbook.key} has no body`);
  return object;
}

/** The stream cut into chunks of `size` bytes (the last one shorter), one chunk held at a time. */
async function* chunksOf(stream: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let pieces: Buffer[] = [];
  let held = 0;
  for await (const piece of stream) {
    pieces.push(Buffer.from(piece));
    held += piece.byteLength;
    while (held >= size) {
      const joined = Buffer.concat(pieces);
      yield joined.subarray(0, size);
      pieces = [joined.subarray(size)];
      held -= size;
    }
  }
  if (held > 0) yield Buffer.concat(pieces);
}

interface ChunkOptions {
  context: string;
  /** Aborted when the copy's time is up: no further request is made. */
  deadline: AbortSignal;
  retry: { attempts: number; baseMs: number; maxMs: number; sleep?: (ms: number) => Promise<void> };
  uploaded: () => Promise<unknown>;
}

/**
 * One chunk PUT to the session's pre-authenticated URL (no Authorization header: the URL is the
 * credential). Tried again on throttling and server failures, after the Retry-After asked for;
 * before each new try the session says which bytes it still lacks, so a chunk taken in part, or
 * whole with its answer lost, resumes where the session stands. The driveItem once the last
 * chunk is in, else undefined.
 */
async function putChunk(
  uploadUrl: string,
  chunk: Buffer,
  start: number,
  total: number,
  options: ChunkOptions,
): Promise<unknown> {
  const end = start + chunk.byteLength;
  return retry(
    async (attempt) => {
      options.deadline.throwIfAborted();
      let from = start;
      if (attempt > 0) {
        const missing = await nextExpected(uploadUrl, options.context);
        if (missing === undefined) {
          if (end === total) return options.uploaded();
          throw new GraphError(`The upload session expired while ${options.context}`, {
            status: 404,
            code: 'UploadSessionExpired',
          });
        }
        if (missing >= end) return undefined;
        if (missing < start) {
          throw new GraphError(
            `The upload session lost bytes already sent (it asks from ${missing}) while ${options.context}`,
            {
              status: 416,
              code: 'UploadSessionOutOfStep',
            },
          );
        }
        from = missing;
      }
      const response = await fetch(uploadUrl, {
        method: 'PUT',
        headers: { 'Content-Range': `bytes ${from}-${end - 1}/${total}` },
        // A Buffer read from a file is backed by an ArrayBuffer (never shared), as the DOM's BodyInit asks.
        body: chunk.subarray(from - start) as Uint8Array<ArrayBuffer>,
        signal: options.deadline,
      }).catch((error: unknown) => {
        if (options.deadline.aborted) throw options.deadline.reason;
        throw connectionError(error, options.context);
      });
      if (response.status === 200 || response.status === 201) return response.json();
      if (response.status === 202) {
        await response.arrayBuffer();
        return undefined;
      }
      throw await uploadError(response, options.context);
    },
    {
      ...options.retry,
      retryable: (error) => error instanceof GraphError && error.transient && !options.deadline.aborted,
      // The wait asked for, at most the longest backoff: a longer one would outlast the copy's time.
      delayHint: (error) =>
        error instanceof GraphError && error.retryAfterMs !== undefined
          ? Math.min(error.retryAfterMs, options.retry.maxMs)
          : undefined,
    },
  );
}

/** Where the session's first missing range starts; undefined when the session is gone (complete or expired). */
async function nextExpected(uploadUrl: string, context: string): Promise<number | undefined> {
  const response = await fetch(uploadUrl).catch((error: unknown) => {
    throw connectionError(error, context);
  });
  if (response.status === 404) {
    await response.arrayBuffer();
    return undefined;
  }
  if (!response.ok) throw await uploadError(response, context);
  const status: unknown = await response.json();
  const ranges = isJson(status) && Array.isArray(status.nextExpectedRanges) ? status.nextExpectedRanges : [];
  const first = typeof ranges[0] === 'string' ? Number.parseInt(ranges[0], 10) : Number.NaN;
  if (!Number.isInteger(first)) {
    throw new GraphError(`Unexpected upload session status while ${context}: ${JSON.stringify(status).slice(0, 200)}`, {
      status: response.status,
      code: 'UnexpectedResponse',
    });
  }
  return first;
}

async function uploadError(response: Response, context: string): Promise<GraphError> {
  const text = await response.text().catch(() => '');
  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
  } catch {
    error = undefined;
  }
  const code = typeof error?.code === 'string' ? error.code : `HTTP ${response.status}`;
  const message = typeof error?.message === 'string' ? `: ${error.message}` : '';
  const retryAfter = Number(response.headers.get('retry-after'));
  return new GraphError(
    `SharePoint refused a part of the upload while ${context}: ${response.status} ${code}${message}`,
    {
      status: response.status,
      code,
      transient: isTransientStatus(response.status),
      retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    },
  );
}

function connectionError(error: unknown, context: string): GraphError {
  const reason = error instanceof Error ? error.message : String(error);
  return new GraphError(`Connection to SharePoint failed while ${context}: ${reason}`, {
    status: 0,
    code: 'NetworkError',
    transient: true,
  });
}

type Json = Record<string, unknown>;

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readId(value: unknown, what: string): string {
  if (isJson(value) && typeof value.id === 'string') return value.id;
  throw new GraphError(`Unexpected Microsoft Graph response for ${what}: no id`, {
    status: 200,
    code: 'UnexpectedResponse',
  });
}

function readSession(value: unknown): { uploadUrl: string } {
  const uploadUrl = isJson(value) && typeof value.uploadUrl === 'string' ? value.uploadUrl : undefined;
  if (!uploadUrl?.startsWith('https://')) {
    throw new GraphError('Microsoft Graph answered createUploadSession without an https uploadUrl', {
      status: 200,
      code: 'UnexpectedResponse',
    });
  }
  return { uploadUrl };
}

function readItem(value: unknown): { id: string; webUrl: string; size: number } {
  if (isJson(value) && typeof value.id === 'string' && typeof value.webUrl === 'string') {
    return { id: value.id, webUrl: value.webUrl, size: typeof value.size === 'number' ? value.size : 0 };
  }
  throw new GraphError(
    `Unexpected Microsoft Graph response for an uploaded file: ${JSON.stringify(value).slice(0, 200)}`,
    {
      status: 200,
      code: 'UnexpectedResponse',
    },
  );
}
