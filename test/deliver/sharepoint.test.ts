import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import ExcelJS from 'exceljs';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Config, type ConfigInput, loadConfigFile, parseConfig } from '../../functions/common/config.ts';
import type { BuildResult, DeliverInput, RowCounts, Run } from '../../functions/common/contracts.ts';
import { reportKey } from '../../functions/common/keys.ts';
import { logger } from '../../functions/common/observability.ts';
import { type DeliverDeps, deliver } from '../../functions/deliver/deliver.ts';
import {
  createSharePointUploader,
  simpleUploadMaxBytes,
  uploadChunkBytes,
} from '../../functions/deliver/sharepoint.ts';
import type { ChunkFault } from '../../local/fake-sharepoint.ts';
import { type FakeGraph, startFakeGraph } from '../../local/graph-server.ts';
import { type LinkServer, startLinkServer } from '../../local/link-server.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { recordSentEmail } from './sent-email.ts';

const shipped = loadConfigFile();
const site = { hostname: 'contoso.sharepoint.com', path: '/sites/Reporting' };
const clientSecret = 'sharepoint-client-secret';
const sentAt = new Date('2026-03-10T12:00:00Z');
const linkKey = 'k'.repeat(64);

let stack: LocalStack;
let stackDir: string;
let links: LinkServer;
/** Every SendEmail request, as deliver made it. */
const requests: SendEmailCommandInput[] = [];
const fakes: FakeGraph[] = [];

/** The shipped configuration with the fake Graph's endpoints and a SharePoint section. */
function configFor(graph: FakeGraph, sharepoint: Partial<NonNullable<ConfigInput['sharepoint']>> = {}): Config {
  return parseConfig({
    ...shipped,
    mailbox: { ...shipped.mailbox, graphBaseUrl: graph.graphBaseUrl, authorityHost: graph.authorityHost },
    sharepoint: { hostname: site.hostname, sitePath: site.path, library: 'Documents', ...sharepoint },
  });
}

async function fakeGraph(options: { chunkFaults?: ChunkFault[]; throttle?: { requests: number; status: 503 } } = {}) {
  const graph = await startFakeGraph({
    user: shipped.mailbox.user,
    folderPath: shipped.mailbox.folder,
    tenantId: shipped.mailbox.tenantId,
    clientSecret,
    ...(options.throttle ? { throttle: options.throttle } : {}),
    sharepoint: {
      sites: [{ ...site, libraries: ['Documents', 'Archive'] }],
      ...(options.chunkFaults ? { chunkFaults: options.chunkFaults } : {}),
    },
  });
  fakes.push(graph);
  return graph;
}

/** Deliver's dependencies with an uploader to the fake; the waits it asks for are recorded, not slept. */
function deps(
  config: Config,
  options: { waits?: number[]; attempts?: number; sleep?: () => Promise<void>; deadlineMs?: number } = {},
): DeliverDeps {
  return {
    config,
    s3: stack.clients.s3,
    sesv2: stack.clients.sesv2,
    dynamodb: stack.clients.dynamodb,
    resources: stack.resources,
    links: { baseUrl: links.baseUrl, signingKey: async () => linkKey },
    now: () => sentAt,
    sharepoint: createSharePointUploader({
      sharepoint: config.sharepoint as NonNullable<Config['sharepoint']>,
      mailbox: config.mailbox,
      credential: { clientSecret },
      s3: stack.clients.s3,
      retry: {
        ...(options.attempts ? { attempts: options.attempts } : {}),
        sleep: async (ms) => {
          options.waits?.push(ms);
          await options.sleep?.();
        },
      },
      ...(options.deadlineMs ? { deadlineMs: options.deadlineMs } : {}),
    }),
  };
}

function counts(partial: Partial<RowCounts>): RowCounts {
  return { read: 0, inserted: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 0, ...partial };
}

function input(date: string, bytes: number, options: { force?: boolean; execution?: string } = {}): DeliverInput {
  const run: Run = {
    date,
    reports: shipped.exports.map((e) => e.type),
    force: options.force ?? false,
    deliver: true,
    executionId: `arn:aws:states:us-east-1:000000000000:execution:charlie-daily-report:${options.execution ?? date}`,
    window: { start: `${date}T06:00:00.000Z`, end: `${date}T08:00:00.000Z` },
  };
  const report: BuildResult = {
    workbook: { bucket: stack.resources.reportsBucket, key: reportKey(date), bytes },
    types: shipped.exports.map((spec) => ({
      type: spec.type,
      tab: spec.tab,
      rows: 10,
      lastExportAt: `${date}T20:00:00.000Z`,
      ingest: counts({ read: 10, inserted: 10 }),
      files: 1,
    })),
    totals: counts({ read: 70, inserted: 70 }),
    missing: [],
  };
  return { run, report };
}

/** A workbook of `rows` rows of random text (24 KB each), which zip cannot shrink much; stored where Build puts it. */
async function putWorkbook(date: string, rows: number): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('Summary');
  sheet.addRow(['Date', date]);
  // Cells of 32,000 characters: Excel's limit is 32,767.
  for (let i = 0; i < rows; i++) sheet.addRow([i, randomBytes(24_000).toString('base64')]);
  const bytes = Buffer.from(await book.xlsx.writeBuffer());
  await stack.clients.s3.send(
    new PutObjectCommand({ Bucket: stack.resources.reportsBucket, Key: reportKey(date), Body: bytes }),
  );
  return bytes;
}

/** The emails handed to SES since the last clear, parsed back from their raw MIME. */
async function sentMail() {
  return Promise.all(
    requests.map((request) => simpleParser(Buffer.from(request.Content?.Raw?.Data ?? new Uint8Array()))),
  );
}

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  stackDir = await mkdtemp(join(tmpdir(), 'charlie-sharepoint-'));
  stack = await startLocalStack(stackDir);
  recordSentEmail(stack, requests);
  links = await startLinkServer({
    s3: stack.clients.s3,
    bucket: stack.resources.reportsBucket,
    signingKey: async () => linkKey,
    timeZone: shipped.timeZone,
    now: () => sentAt,
  });
});

beforeEach(() => {
  requests.length = 0;
});

afterAll(async () => {
  for (const graph of fakes) await graph.stop();
  await links?.stop();
  await stack?.stop();
  await rm(stackDir, { recursive: true, force: true });
});

describe('the workbook copied to SharePoint', () => {
  it('is uploaded in one PUT, linked from the email, and replaced on a rerun: one file, a new version', async () => {
    const graph = await fakeGraph();
    const config = configFor(graph);
    const DAY = '2026-03-09';
    const bytes = await putWorkbook(DAY, 10);
    expect(bytes.byteLength).toBeLessThanOrEqual(simpleUploadMaxBytes);

    const first = await deliver(input(DAY, bytes.byteLength), deps(config));
    const path = `Charlie/2026/03/Charlie-Intraday-${DAY}.xlsx`;
    const webUrl = `https://contoso.sharepoint.com/sites/Reporting/Shared%20Documents/${path}`;
    expect(first).toMatchObject({
      sent: true,
      sharepoint: { uploaded: true, site: 'contoso.sharepoint.com/sites/Reporting', path, webUrl, session: false },
    });
    expect(first.sharepoint).toMatchObject({
      bytes: bytes.byteLength,
      itemId: expect.stringMatching(/^01[A-Z2-7]{32}$/),
    });
    const puts = graph.requests.filter((r) => r.method === 'PUT');
    expect(puts).toEqual([
      expect.objectContaining({
        path: expect.stringMatching(
          /\/drives\/b!.+\/root:\/Charlie\/2026\/03\/Charlie-Intraday-2026-03-09\.xlsx:\/content$/,
        ),
        query: { '@microsoft.graph.conflictBehavior': 'replace' },
        status: 201,
      }),
    ]);

    const [email] = await sentMail();
    expect(email?.text).toContain(`In SharePoint: ${webUrl}`);
    expect(email?.html).toContain(`href="${webUrl}"`);
    expect(email?.text).not.toMatch(/needs attention/i);

    // Forced, the day is sent again and its copy replaced: still one file, now with two versions.
    const rebuilt = await putWorkbook(DAY, 12);
    const forced = await deliver(input(DAY, rebuilt.byteLength, { force: true, execution: 'forced' }), deps(config));
    expect(forced).toMatchObject({ sent: true, sharepoint: { uploaded: true, path, webUrl } });
    const files = graph.sharepoint?.files() ?? [];
    expect(files.map((f) => f.path)).toEqual([path]);
    expect(files[0]?.versions.map((v) => v.content.equals(bytes))).toEqual([true, false]);
    expect(files[0]?.versions[1]?.content.equals(rebuilt)).toBe(true);
    expect(forced.sharepoint?.uploaded && forced.sharepoint.itemId).toBe(
      first.sharepoint?.uploaded && first.sharepoint.itemId,
    );
    expect(graph.requests.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([201, 200]);
  });

  it('uploads a workbook over 4 MiB through an upload session, chunk by chunk, resuming where the session stands', async () => {
    // The first chunk is throttled; the second and last are taken, their answers lost.
    const graph = await fakeGraph({ chunkFaults: ['throttled', undefined, 'answer-lost', 'answer-lost'] });
    const config = configFor(graph, { folder: 'Reports/{yyyy}-{mm}-{dd}', fileName: 'Intraday {date}.xlsx' });
    const DAY = '2026-03-11';
    const bytes = await putWorkbook(DAY, 290);
    expect(bytes.byteLength).toBeGreaterThan(2 * uploadChunkBytes);
    expect(bytes.byteLength).toBeLessThan(3 * uploadChunkBytes);

    const waits: number[] = [];
    const result = await deliver(input(DAY, bytes.byteLength), deps(config, { waits }));
    const path = 'Reports/2026-03-11/Intraday 2026-03-11.xlsx';
    expect(result).toMatchObject({ sent: true, sharepoint: { uploaded: true, path, session: true } });
    expect(result.sharepoint).toMatchObject({ bytes: bytes.byteLength });
    // The session asked for 2 s: that wait, not a guess.
    expect(waits).toContain(2000);

    const [file, ...others] = graph.sharepoint?.files() ?? [];
    expect(others).toEqual([]);
    expect(file?.path).toBe(path);
    expect(file?.versions).toHaveLength(1);
    expect(file?.versions[0]?.content.equals(bytes)).toBe(true);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Uint8Array.from(file?.versions[0]?.content ?? []).buffer);
    expect(book.getWorksheet('Summary')?.getCell('B1').value).toBe(DAY);

    const uploads = graph.requests.filter((r) => r.path.startsWith('/upload/'));
    // Before each new try, the session says what it lacks: the throttled chunk whole, nothing of the
    // second (taken), the last chunk's answer lost and the session gone (404).
    expect(uploads.map((r) => `${r.method} ${r.status}`)).toEqual([
      'PUT 503',
      'GET 200',
      'PUT 202',
      'PUT 200',
      'GET 200',
      'PUT 200',
      'GET 404',
    ]);
    // The last chunk's answer lost, the session gone: the file is read back by its path.
    expect(graph.requests.at(-1)).toMatchObject({ method: 'GET', status: 200 });
    expect(graph.requests.filter((r) => r.path.endsWith(':/createUploadSession'))).toHaveLength(1);
  });

  it('tells what to check when the Sites.Selected grant was revoked, and the email still goes out saying so', async () => {
    const graph = await fakeGraph();
    graph.sharepoint?.setAccess(`${site.hostname}${site.path}`, 'none');
    const config = configFor(graph);
    const DAY = '2026-03-12';
    const bytes = await putWorkbook(DAY, 10);

    const result = await deliver(input(DAY, bytes.byteLength), deps(config));
    expect(result.sent).toBe(true);
    expect(result.sharepoint?.uploaded).toBe(false);
    const error = result.sharepoint?.uploaded === false ? result.sharepoint.error : '';
    expect(error).toContain(
      'denied app 00000000-0000-0000-0000-000000000000 access to SharePoint site contoso.sharepoint.com/sites/Reporting',
    );
    expect(error).toContain('403 accessDenied');
    expect(error).toContain('Sites.Selected');
    expect(graph.sharepoint?.files()).toEqual([]);

    const [email, ...others] = await sentMail();
    expect(others).toEqual([]);
    expect(email?.attachments).toHaveLength(1);
    for (const body of [email?.text ?? '', typeof email?.html === 'string' ? email.html : '']) {
      expect(body).toMatch(/needs attention/i);
      expect(body).toContain('The copy to SharePoint failed (contoso.sharepoint.com/sites/Reporting, Charlie/2026/03/');
      expect(body).toContain('Sites.Selected');
    }
    expect(email?.text).not.toContain('In SharePoint:');
  });

  it('names the configuration to check when the site or library is not there', async () => {
    const graph = await fakeGraph();
    const DAY = '2026-03-13';
    const bytes = await putWorkbook(DAY, 10);

    const gone = await deliver(input(DAY, bytes.byteLength), deps(configFor(graph, { sitePath: '/sites/Gone' })));
    expect(gone).toMatchObject({
      sent: true,
      sharepoint: { uploaded: false, site: 'contoso.sharepoint.com/sites/Gone' },
    });
    expect(gone.sharepoint?.uploaded === false && gone.sharepoint.error).toMatch(
      /not found while finding site .*404 itemNotFound.*Check sharepoint\.siteId \(or hostname and sitePath\)/,
    );

    const library = await deliver(
      input(DAY, bytes.byteLength, { force: true, execution: 'library' }),
      deps(configFor(graph, { library: 'Reports' })),
    );
    expect(library.sharepoint?.uploaded === false && library.sharepoint.error).toBe(
      'SharePoint site contoso.sharepoint.com/sites/Reporting has no library named Reports (it has: Documents, Archive); check sharepoint.library in the configuration',
    );
    expect(library.sent).toBe(true);
  });

  it('sends the email when SharePoint stays unavailable past its retries', async () => {
    const graph = await fakeGraph({ throttle: { requests: 100, status: 503 } });
    const DAY = '2026-03-14';
    const bytes = await putWorkbook(DAY, 10);

    const result = await deliver(input(DAY, bytes.byteLength), deps(configFor(graph), { attempts: 3 }));
    expect(result.sent).toBe(true);
    expect(result.sharepoint?.uploaded === false && result.sharepoint.error).toMatch(/503 ServiceUnavailable/);
    const [email] = await sentMail();
    expect(email?.text).toContain('The copy to SharePoint failed');
  });

  it('gives the copy up when it outlasts its time, and sends the email', async () => {
    const graph = await fakeGraph({ throttle: { requests: 1, status: 503 } });
    const DAY = '2026-03-15';
    const bytes = await putWorkbook(DAY, 10);

    // The wait after the throttled answer never ends: only the deadline does.
    const stuck = () => new Promise<void>(() => undefined);
    const result = await deliver(
      input(DAY, bytes.byteLength),
      deps(configFor(graph), { sleep: stuck, deadlineMs: 200 }),
    );
    expect(result.sent).toBe(true);
    expect(result.sharepoint).toMatchObject({ uploaded: false, error: 'The copy did not finish within 0.2 s' });
    const [email] = await sentMail();
    expect(email?.text).toContain('The copy did not finish within 0.2 s');
  });
});

describe('the sharepoint configuration', () => {
  it('names the site one way and the library at most one way, with names SharePoint takes', () => {
    const withSharePoint = (sharepoint: unknown) => () => parseConfig({ ...shipped, sharepoint });
    expect(withSharePoint({ library: 'Documents' })).toThrow(
      /sharepoint: name the site by siteId, or by hostname and sitePath/,
    );
    expect(withSharePoint({ siteId: 'a,b,c', hostname: 'contoso.sharepoint.com', sitePath: '/sites/R' })).toThrow(
      /name the site by siteId, or by hostname and sitePath \(not both\)/,
    );
    expect(withSharePoint({ siteId: 'a,b,c', driveId: 'b!x', library: 'Documents' })).toThrow(
      /sharepoint\.library: name the library by driveId or by library, not both/,
    );
    expect(withSharePoint({ siteId: 'a,b,c', folder: 'Reports/{yyyy}:{mm}' })).toThrow(
      /sharepoint\.folder: folder names/,
    );
    expect(withSharePoint({ siteId: 'a,b,c', fileName: 'a/b.xlsx' })).toThrow(/sharepoint\.fileName: a file name/);
    expect(parseConfig({ ...shipped, sharepoint: { siteId: 'a,b,c' } }).sharepoint).toEqual({
      siteId: 'a,b,c',
      folder: 'Charlie/{yyyy}/{mm}',
      fileName: '{workbook}',
    });
    expect(parseConfig(shipped).sharepoint).toBeUndefined();
  });
});
