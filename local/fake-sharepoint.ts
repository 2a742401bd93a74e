import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { HttpError, readBody, readBuffer, sendJson } from './graph-http.ts';

/**
 * SharePoint document libraries as Microsoft Graph v1.0 serves them, for the calls a workbook
 * upload makes: a site by host name and path, its libraries (drives), a file's simple upload
 * (`PUT …/root:/{path}:/content`), an upload session (`createUploadSession`, then byte ranges PUT
 * to its pre-authenticated URL), a file by path and its versions. An upload over an existing file
 * replaces it and adds a version; the app's grant on a site (Sites.Selected) can be taken away.
 */

/** A site collection the fake serves. */
export interface FakeSite {
  /** e.g. `contoso.sharepoint.com` */
  hostname: string;
  /** Server-relative, e.g. `/sites/Reporting`. */
  path: string;
  /** Its document libraries by name; the first is the default (default: `Documents`). */
  libraries?: string[];
  /** What the app was granted on the site with Sites.Selected (default write); `none` is a revoked grant. */
  access?: SiteAccess;
}

export type SiteAccess = 'write' | 'read' | 'none';

/** What happens to the next chunks PUT to an upload session, in order: throttled (503, nothing taken), or taken with the answer lost. */
export type ChunkFault = 'throttled' | 'answer-lost' | undefined;

export interface FakeSharePointOptions {
  sites: FakeSite[];
  /** Where the libraries' files are kept (each file's current content at its path, versions aside), across runs; default: memory only. */
  dir?: string;
  chunkFaults?: ChunkFault[];
}

/** A file in a library, with every version uploaded, oldest first. */
export interface FakeDriveFile {
  /** `hostname/path` of its site. */
  site: string;
  library: string;
  /** Its path in the library, e.g. `Charlie/2026/03/Charlie-Intraday-2026-03-09.xlsx`. */
  path: string;
  id: string;
  webUrl: string;
  versions: { content: Buffer; lastModifiedDateTime: string }[];
}

export interface FakeSharePoint {
  /** Answers a request for `/v1.0/sites/…` (authorized already) or an upload URL; false if it is neither. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, origin: string): Promise<boolean>;
  files(): FakeDriveFile[];
  /** Grants or takes away the app's access to a site (`hostname/path`), as an admin does with `/permissions`. */
  setAccess(site: string, access: SiteAccess): void;
}

interface Library {
  id: string;
  name: string;
  site: SiteRecord;
}

interface SiteRecord {
  id: string;
  hostname: string;
  path: string;
  access: SiteAccess;
  libraries: Library[];
}

interface StoredFile extends FakeDriveFile {
  driveId: string;
  createdDateTime: string;
  /** Stable part of the eTag; the version number follows it. */
  tag: string;
}

interface Session {
  id: string;
  library: Library;
  path: string;
  received: Buffer[];
  receivedBytes: number;
  total: number | undefined;
  expirationDateTime: string;
}

/** Graph's limit for one fragment of an upload session. */
const maxFragmentBytes = 60 * 1024 * 1024;
const fragmentUnit = 320 * 1024;
const xlsxType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export function createFakeSharePoint(options: FakeSharePointOptions): FakeSharePoint {
  const sites: SiteRecord[] = options.sites.map((site) => {
    const record: SiteRecord = {
      id: `${site.hostname},${guid(`${site.hostname}${site.path}/site`)},${guid(`${site.hostname}${site.path}/web`)}`,
      hostname: site.hostname.toLowerCase(),
      path: site.path,
      access: site.access ?? 'write',
      libraries: [],
    };
    record.libraries = (site.libraries ?? ['Documents']).map((name) => ({
      id: `b!${createHash('sha256').update(`${record.id}/${name}`).digest('base64url').slice(0, 62)}`,
      name,
      site: record,
    }));
    return record;
  });
  const files = new Map<string, StoredFile>();
  const sessions = new Map<string, Session>();
  const faults = [...(options.chunkFaults ?? [])];
  if (options.dir) for (const file of loadFiles(options.dir)) files.set(fileKey(file.driveId, file.path), file);

  function siteOf(id: string): SiteRecord {
    const site = sites.find((s) => s.id.toLowerCase() === id.toLowerCase());
    if (!site) throw new HttpError(404, 'itemNotFound', 'Requested site could not be found');
    return site;
  }

  function allowed(site: SiteRecord, write: boolean): void {
    if (site.access === 'none' || (write && site.access !== 'write')) {
      throw new HttpError(403, 'accessDenied', 'Access denied');
    }
  }

  function libraryOf(site: SiteRecord, id: string): Library {
    const library = site.libraries.find((l) => l.id === id);
    if (!library) {
      throw new HttpError(
        404,
        'itemNotFound',
        'The provided drive id appears to be malformed, or does not represent a valid drive.',
      );
    }
    return library;
  }

  /** Stores a completed upload: a new file, or a new version of the one at the path. */
  function commit(library: Library, path: string, content: Buffer): { file: StoredFile; created: boolean } {
    const key = fileKey(library.id, path);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const existing = files.get(key);
    const file: StoredFile = existing ?? {
      site: `${library.site.hostname}${library.site.path}`,
      library: library.name,
      path,
      id: itemId(`${library.id}/${path.toLowerCase()}`),
      webUrl: webUrl(library, path),
      versions: [],
      driveId: library.id,
      createdDateTime: now,
      tag: guid(`${library.id}/${path.toLowerCase()}`).toUpperCase(),
    };
    file.versions.push({ content, lastModifiedDateTime: now });
    files.set(key, file);
    if (options.dir) saveFile(options.dir, file, [...files.values()]);
    return { file, created: !existing };
  }

  function itemJson(file: StoredFile, origin: string): Record<string, unknown> {
    const version = file.versions.length;
    const latest = file.versions.at(-1);
    const app = { application: { id: '00000000-0000-0000-0000-000000000000', displayName: 'Charlie Reporting' } };
    const folder = file.path.split('/').slice(0, -1).join('/');
    return {
      '@odata.context': `${origin}/v1.0/$metadata#driveItems/$entity`,
      createdDateTime: file.createdDateTime,
      eTag: `"{${file.tag}},${version}"`,
      id: file.id,
      lastModifiedDateTime: latest?.lastModifiedDateTime,
      name: file.path.split('/').pop(),
      webUrl: file.webUrl,
      cTag: `"c:{${file.tag}},${version}"`,
      size: latest?.content.byteLength ?? 0,
      createdBy: app,
      lastModifiedBy: app,
      parentReference: {
        driveType: 'documentLibrary',
        driveId: file.driveId,
        id: itemId(`${file.driveId}/${folder.toLowerCase()}/`),
        name: folder.split('/').pop() || 'root',
        path: `/drives/${file.driveId}/root:${folder ? `/${folder}` : ''}`,
        siteId: siteIdOf(file, sites),
      },
      file: { mimeType: file.path.toLowerCase().endsWith('.xlsx') ? xlsxType : 'application/octet-stream' },
      fileSystemInfo: { createdDateTime: file.createdDateTime, lastModifiedDateTime: latest?.lastModifiedDateTime },
    };
  }

  function sessionJson(session: Session): Record<string, unknown> {
    const next =
      session.total === undefined ? `${session.receivedBytes}-` : `${session.receivedBytes}-${session.total - 1}`;
    return { expirationDateTime: session.expirationDateTime, nextExpectedRanges: [next] };
  }

  async function sitesRequest(req: IncomingMessage, res: ServerResponse, url: URL, origin: string): Promise<void> {
    const raw = url.pathname.slice('/v1.0/sites/'.length);
    const method = req.method ?? 'GET';
    const byPath = /^([^/:]+):(\/[^:]*?)\/?$/.exec(raw);
    if (byPath) {
      const hostname = decodeURIComponent(byPath[1] ?? '').toLowerCase();
      const path = decodeURIComponent(byPath[2] ?? '');
      const site = sites.find((s) => s.hostname === hostname && s.path.toLowerCase() === path.toLowerCase());
      if (!site) throw new HttpError(404, 'itemNotFound', 'Requested site could not be found');
      allowed(site, false);
      return sendJson(res, 200, siteJson(site, origin));
    }
    const [siteSegment = '', ...rest] = raw.split('/');
    const site = siteOf(decodeURIComponent(siteSegment));
    allowed(site, method !== 'GET');
    if (rest.length === 0 && method === 'GET') return sendJson(res, 200, siteJson(site, origin));
    if (rest.length === 1 && rest[0] === 'drive' && method === 'GET') {
      return sendJson(res, 200, driveJson(site.libraries[0] as Library, origin));
    }
    if (rest.length === 1 && rest[0] === 'drives' && method === 'GET') {
      return sendJson(res, 200, {
        '@odata.context': `${origin}/v1.0/$metadata#drives`,
        value: site.libraries.map((l) => driveJson(l, origin)),
      });
    }
    if (rest[0] !== 'drives' || rest.length < 3) throw badRequest(rest.at(-1));
    const library = libraryOf(site, decodeURIComponent(rest[1] ?? ''));
    const inDrive = rest.slice(2).join('/');
    const byItemPath = /^root:\/(.+?)(?::(?:\/(content|createUploadSession))?)?$/.exec(inDrive);
    if (byItemPath) {
      const path = (byItemPath[1] ?? '').split('/').map(decodeURIComponent).join('/');
      const action = byItemPath[2];
      const existing = files.get(fileKey(library.id, path));
      if (action === undefined && method === 'GET') {
        if (!existing) throw new HttpError(404, 'itemNotFound', 'The resource could not be found.');
        return sendJson(res, 200, itemJson(existing, origin));
      }
      if (action === 'content' && method === 'PUT') {
        const conflict = url.searchParams.get('@microsoft.graph.conflictBehavior') ?? 'replace';
        if (existing && conflict === 'fail') throw nameConflict();
        const body = await readBuffer(req);
        if (body.byteLength > 250 * 1024 * 1024) {
          throw new HttpError(413, 'requestTooLarge', 'Request size exceeds the maximum for a simple upload.');
        }
        const { file, created } = commit(library, path, body);
        return sendJson(res, created ? 201 : 200, itemJson(file, origin));
      }
      if (action === 'createUploadSession' && method === 'POST') {
        const request = JSON.parse((await readBody(req)) || '{}') as { item?: Record<string, unknown> };
        // Without conflict behaviour "replace", an upload over an existing file is refused.
        if (existing && request.item?.['@microsoft.graph.conflictBehavior'] !== 'replace') throw nameConflict();
        const session: Session = {
          id: randomUUID(),
          library,
          path,
          received: [],
          receivedBytes: 0,
          total: undefined,
          expirationDateTime: new Date(Date.now() + 15 * 60_000).toISOString(),
        };
        sessions.set(session.id, session);
        return sendJson(res, 200, {
          '@odata.context': `${origin}/v1.0/$metadata#microsoft.graph.uploadSession`,
          uploadUrl: `${origin}/upload/${session.id}?tempauth=${createHash('sha256').update(session.id).digest('base64url')}`,
          ...sessionJson(session),
        });
      }
    }
    const versions = /^items\/([^/]+)\/versions$/.exec(inDrive);
    if (versions && method === 'GET') {
      const file = [...files.values()].find((f) => f.driveId === library.id && f.id === versions[1]);
      if (!file) throw new HttpError(404, 'itemNotFound', 'The resource could not be found.');
      return sendJson(res, 200, {
        '@odata.context': `${origin}/v1.0/$metadata#sites('${site.id}')/drives('${library.id}')/items('${file.id}')/versions`,
        value: file.versions
          .map((v, i) => ({
            id: `${i + 1}.0`,
            lastModifiedDateTime: v.lastModifiedDateTime,
            size: v.content.byteLength,
          }))
          .reverse(),
      });
    }
    throw badRequest(rest.at(-1));
  }

  async function uploadRequest(req: IncomingMessage, res: ServerResponse, url: URL, origin: string): Promise<void> {
    const session = sessions.get(url.pathname.slice('/upload/'.length));
    if (!session) throw new HttpError(404, 'itemNotFound', 'The upload session was not found.');
    // The URL is the credential: a bearer token sent with it is refused.
    if (req.headers.authorization) {
      throw new HttpError(401, 'unauthenticated', 'An upload URL is pre-authenticated: send no Authorization header.');
    }
    if (req.method === 'GET') return sendJson(res, 200, sessionJson(session));
    if (req.method === 'DELETE') {
      sessions.delete(session.id);
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'PUT') throw new HttpError(405, 'invalidRequest', `${req.method} is not supported here.`);
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(req.headers['content-range'] ?? '');
    if (!range) throw new HttpError(400, 'invalidRequest', 'The Content-Range header is missing or malformed.');
    const [from, to, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    const fault = faults.shift();
    if (fault === 'throttled') {
      await readBuffer(req);
      throw new HttpError(503, 'serviceNotAvailable', 'The service is temporarily unavailable.', {
        'Retry-After': '2',
      });
    }
    const body = await readBuffer(req);
    if (body.byteLength !== to - from + 1 || to >= total || body.byteLength > maxFragmentBytes) {
      throw new HttpError(400, 'invalidRequest', 'The Content-Range does not match the fragment sent.');
    }
    if ((session.total !== undefined && total !== session.total) || from !== session.receivedBytes) {
      throw new HttpError(
        416,
        'invalidRange',
        'The uploaded fragment overlaps with data that has already been received, or leaves a gap.',
      );
    }
    if (to + 1 < total && body.byteLength % fragmentUnit !== 0) {
      throw new HttpError(400, 'invalidRequest', 'A fragment other than the last must be a multiple of 320 KiB.');
    }
    session.total = total;
    session.received.push(body);
    session.receivedBytes += body.byteLength;
    let answer: { status: number; body: unknown };
    if (session.receivedBytes === total) {
      sessions.delete(session.id);
      const existed = files.has(fileKey(session.library.id, session.path));
      const { file } = commit(session.library, session.path, Buffer.concat(session.received));
      answer = { status: existed ? 200 : 201, body: itemJson(file, origin) };
    } else {
      answer = { status: 202, body: sessionJson(session) };
    }
    if (fault === 'answer-lost') {
      res.destroy();
      return;
    }
    sendJson(res, answer.status, answer.body);
  }

  return {
    async handle(req, res, url, origin) {
      if (url.pathname.startsWith('/upload/')) {
        await uploadRequest(req, res, url, origin);
        return true;
      }
      if (url.pathname.startsWith('/v1.0/sites/')) {
        await sitesRequest(req, res, url, origin);
        return true;
      }
      return false;
    },
    files: () =>
      [...files.values()].map(({ site, library, path, id, webUrl, versions }) => ({
        site,
        library,
        path,
        id,
        webUrl,
        versions,
      })),
    setAccess(name, access) {
      const site = sites.find((s) => `${s.hostname}${s.path}`.toLowerCase() === name.toLowerCase());
      if (!site) throw new Error(`No site ${name} in the fake SharePoint`);
      site.access = access;
    },
  };
}

function siteJson(site: SiteRecord, origin: string): Record<string, unknown> {
  const name = site.path.split('/').pop() ?? '';
  return {
    '@odata.context': `${origin}/v1.0/$metadata#sites/$entity`,
    createdDateTime: '2024-01-15T09:00:00Z',
    description: '',
    id: site.id,
    lastModifiedDateTime: '2024-01-15T09:00:00Z',
    name,
    webUrl: `https://${site.hostname}${site.path}`,
    displayName: name,
    root: {},
    siteCollection: { hostname: site.hostname },
  };
}

function driveJson(library: Library, origin: string): Record<string, unknown> {
  return {
    '@odata.context': `${origin}/v1.0/$metadata#drives/$entity`,
    createdDateTime: '2024-01-15T09:00:00Z',
    description: '',
    id: library.id,
    lastModifiedDateTime: '2024-01-15T09:00:00Z',
    name: library.name,
    webUrl: `https://${library.site.hostname}${library.site.path}/${libraryUrlName(library.name)}`,
    driveType: 'documentLibrary',
  };
}

/** The default library is named Documents and lives at Shared Documents, as in SharePoint. */
function libraryUrlName(name: string): string {
  return encodeURIComponent(name === 'Documents' ? 'Shared Documents' : name);
}

function webUrl(library: Library, path: string): string {
  const segments = path.split('/').map(encodeURIComponent).join('/');
  return `https://${library.site.hostname}${library.site.path}/${libraryUrlName(library.name)}/${segments}`;
}

function siteIdOf(file: StoredFile, sites: SiteRecord[]): string | undefined {
  return sites.find((s) => s.libraries.some((l) => l.id === file.driveId))?.id;
}

function fileKey(driveId: string, path: string): string {
  return `${driveId}:${path.toLowerCase()}`;
}

function nameConflict(): HttpError {
  return new HttpError(409, 'nameAlreadyExists', 'The specified item name already exists.');
}

function badRequest(segment: string | undefined): HttpError {
  return new HttpError(400, 'invalidRequest', `Resource not found for the segment '${segment ?? ''}'.`);
}

/** A GUID stable for the same source. */
function guid(source: string): string {
  const hex = createHash('sha256').update(source).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A driveItem id as SharePoint writes them: 01 and 32 upper-case letters and digits. */
function itemId(source: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = createHash('sha256').update(source).digest();
  return `01${[...bytes.subarray(0, 32)].map((b) => alphabet[b % 32]).join('')}`;
}

/**
 * On disk, each file's current content is at `<dir>/<hostname><site path>/<library>/<path>`, so
 * the folder reads like the library; every version's bytes and the index are under `.versions/`.
 */
function saveFile(dir: string, file: StoredFile, all: StoredFile[]): void {
  const current = join(dir, file.site, file.library, ...file.path.split('/'));
  mkdirSync(dirname(current), { recursive: true });
  const latest = file.versions.at(-1);
  if (latest) writeFileSync(current, latest.content);
  const versionPath = join(dir, '.versions', file.id, String(file.versions.length));
  mkdirSync(dirname(versionPath), { recursive: true });
  if (latest) writeFileSync(versionPath, latest.content);
  const index = all.map(({ versions, ...rest }) => ({
    ...rest,
    versions: versions.map((v) => ({ lastModifiedDateTime: v.lastModifiedDateTime })),
  }));
  writeFileSync(join(dir, '.versions', 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
}

function loadFiles(dir: string): StoredFile[] {
  const indexPath = join(dir, '.versions', 'index.json');
  if (!existsSync(indexPath)) return [];
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as (Omit<StoredFile, 'versions'> & {
    versions: { lastModifiedDateTime: string }[];
  })[];
  return index.map((file) => ({
    ...file,
    versions: file.versions.map((v, i) => ({
      lastModifiedDateTime: v.lastModifiedDateTime,
      content: readFileSync(join(dir, '.versions', file.id, String(i + 1))),
    })),
  }));
}
