import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Resources } from '../shared/clients.ts';
import type { Config, ExportSpec } from '../shared/config.ts';
import type {
  CollectResult,
  CollectSummary,
  FileOrigin,
  IgnoredMessage,
  Run,
  RunInput,
  SourceFile,
} from '../shared/contracts.ts';
import { recogniseTypeFromHeader, recogniseTypeFromName } from '../shared/exports.ts';
import { rawKey } from '../shared/keys.ts';
import { logger } from '../shared/observability.ts';
import { localToInstant } from '../shared/time.ts';
import { GraphError, type MailAttachment, type MailMessage, type MailSource } from './graph.ts';
import { resolveRun } from './run.ts';

export interface CollectEvent {
  input: RunInput;
  executionId: string;
}

export interface CollectDeps {
  config: Config;
  s3: S3Client;
  resources: Resources;
  /** The mailbox folder; none means only the agent inbox is collected. */
  mail: MailSource | undefined;
  now?: () => number;
  /** Where attachments are spooled while hashed (default: the OS temp directory). */
  tempDir?: string;
}

/** Enough of the result to explain what was skipped, small enough for the state payload. */
const maxIgnoredListed = 50;

/** Bytes kept from the start of a file, to read its header line. */
const headBytes = 64 * 1024;

/** Messages processed at once; the Graph client caps the requests in flight itself. */
const messageConcurrency = 8;

const s3Concurrency = 8;

interface StoreMetadata {
  messageId: string;
  receivedAt: string;
  exportedAt: string;
  sender: string;
  attachmentName: string;
  origin: FileOrigin;
}

/** A file spooled to local disk with its digest. */
interface SpooledFile {
  path: string;
  sha256: string;
  bytes: number;
  head: Uint8Array;
}

class TooLargeError extends Error {
  override name = 'TooLargeError';
}

type AttachmentOutcome =
  | { kind: 'stored' | 'alreadyStored'; type: string }
  /** An export of a type this run does not collect. */
  | { kind: 'notRequested'; type: string }
  | { kind: 'ignored'; reason: string };

/**
 * The first state: decides the run, stores every export of the day found in the mailbox
 * folder and the agent inbox under its content address, and lists all the day's raw files.
 */
export async function collect(event: CollectEvent, deps: CollectDeps): Promise<CollectResult> {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const run = resolveRun(event.input ?? {}, event.executionId, config, now());
  const work = await mkdtemp(join(deps.tempDir ?? tmpdir(), 'charlie-collect-'));
  const summary: CollectSummary = {
    messagesSeen: 0,
    messagesMatched: 0,
    messagesIgnored: 0,
    ignored: [],
    attachmentsStored: 0,
    attachmentsAlreadyStored: 0,
    agentFiles: 0,
  };
  const context = new CollectContext(deps, run, work, summary);
  try {
    if (deps.mail) await collectMail(context, deps.mail);
    await collectAgentInbox(context);
    const files = await listRawFiles(deps, run);
    logger.info('Collected', {
      executionId: run.executionId,
      mailbox: deps.mail?.name,
      date: run.date,
      reports: run.reports,
      ...summaryCounts(summary),
      files: files.length,
    });
    return { run, files, mail: summary };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** What the collection of one run shares: where to spool, what to store, what was counted. */
class CollectContext {
  private readonly claims = new Map<string, Promise<StoreClaim>>();
  private spoolCount = 0;

  constructor(
    readonly deps: CollectDeps,
    readonly run: Run,
    private readonly work: string,
    readonly summary: CollectSummary,
  ) {}

  get config(): Config {
    return this.deps.config;
  }

  requested(spec: ExportSpec): boolean {
    return this.run.reports.includes(spec.type);
  }

  listIgnored(entry: IgnoredMessage): void {
    if (this.summary.ignored.length < maxIgnoredListed) this.summary.ignored.push(entry);
    logger.info('Not collected', { messageId: entry.messageId, reason: entry.reason });
  }

  /** Writes the chunks to a fresh temp file, hashing them; rewrites from the start when called again. */
  async spool(chunks: AsyncIterable<Uint8Array>, limit: number): Promise<SpooledFile> {
    const path = join(this.work, `${++this.spoolCount}.part`);
    const hash = createHash('sha256');
    const head: Uint8Array[] = [];
    let headLength = 0;
    let bytes = 0;
    async function* measured() {
      for await (const chunk of chunks) {
        bytes += chunk.byteLength;
        if (bytes > limit) throw new TooLargeError(`over ${limit} bytes`);
        hash.update(chunk);
        if (headLength < headBytes) {
          head.push(chunk.subarray(0, headBytes - headLength));
          headLength += Math.min(chunk.byteLength, headBytes - headLength);
        }
        yield chunk;
      }
    }
    await pipeline(Readable.from(measured()), createWriteStream(path));
    return { path, sha256: hash.digest('hex'), bytes, head: Buffer.concat(head) };
  }

  /**
   * Stores a spooled file at its content address unless it is there already. Within a run
   * the same content is stored once even when two messages carry it at the same time, and
   * the stored copy describes the earliest export of it, whichever download finished first.
   */
  store(file: SpooledFile, type: string, metadata: StoreMetadata): Promise<'stored' | 'alreadyStored'> {
    const key = rawKey(this.run.date, type, file.sha256);
    const previous = this.claims.get(key);
    const claim = (async (): Promise<StoreClaim> => {
      if (previous) {
        const earlier = await previous;
        if (earlier.storedHere && metadata.exportedAt < earlier.exportedAt) {
          await this.put(key, file, type, metadata);
          return { storedHere: true, exportedAt: metadata.exportedAt, outcome: 'alreadyStored' };
        }
        return { ...earlier, outcome: 'alreadyStored' };
      }
      const { s3, resources } = this.deps;
      if (await exists(s3, resources.dataBucket, key)) {
        return { storedHere: false, exportedAt: metadata.exportedAt, outcome: 'alreadyStored' };
      }
      await this.put(key, file, type, metadata);
      return { storedHere: true, exportedAt: metadata.exportedAt, outcome: 'stored' };
    })();
    this.claims.set(key, claim);
    return claim.then((c) => c.outcome);
  }

  private async put(key: string, file: SpooledFile, type: string, metadata: StoreMetadata): Promise<void> {
    const { s3, resources } = this.deps;
    const handle = await open(file.path);
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: resources.dataBucket,
          Key: key,
          Body: handle.createReadStream({ autoClose: false }),
          ContentLength: file.bytes,
          ContentType: 'text/csv',
          // Given up front, the digest lets S3 verify the upload without a streamed trailer.
          ChecksumSHA256: Buffer.from(file.sha256, 'hex').toString('base64'),
          Metadata: {
            'message-id': headerSafe(metadata.messageId),
            'received-at': metadata.receivedAt,
            'exported-at': metadata.exportedAt,
            sender: headerSafe(metadata.sender),
            'attachment-name': headerSafe(metadata.attachmentName),
            type,
            origin: metadata.origin,
            sha256: file.sha256,
          },
        }),
      );
    } finally {
      await handle.close();
    }
  }
}

/** Who stored a content address in this run, for which export. */
interface StoreClaim {
  storedHere: boolean;
  exportedAt: string;
  outcome: 'stored' | 'alreadyStored';
}

async function collectMail(context: CollectContext, mail: MailSource): Promise<void> {
  const messages: MailMessage[] = [];
  for await (const message of mail.messages(context.run.window)) messages.push(message);
  const outcomes = await mapPool(messages, messageConcurrency, (message) => collectMessage(context, mail, message));

  const { summary } = context;
  messages.forEach((message, i) => {
    const attachments = outcomes[i] ?? [];
    const messageId = message.internetMessageId ?? message.id;
    summary.messagesSeen++;
    const reasons: string[] = [];
    let recognised = false;
    for (const outcome of attachments) {
      if (outcome.kind === 'ignored') reasons.push(outcome.reason);
      else recognised = true;
      if (outcome.kind === 'stored') summary.attachmentsStored++;
      if (outcome.kind === 'alreadyStored') summary.attachmentsAlreadyStored++;
    }
    if (recognised) summary.messagesMatched++;
    else summary.messagesIgnored++;
    // An attachment left behind is reported even when others of its message were taken.
    if (reasons.length > 0) context.listIgnored({ messageId, subject: message.subject, reason: reasons.join('; ') });
  });
}

async function collectMessage(
  context: CollectContext,
  mail: MailSource,
  message: MailMessage,
): Promise<AttachmentOutcome[]> {
  const { config } = context;
  const sender = message.from;
  if (!config.exports.some((spec) => acceptsSender(spec, sender, config))) {
    return [{ kind: 'ignored', reason: `sender ${sender ?? '(none)'} is not an accepted sender` }];
  }
  try {
    const attachments = await mail.attachments(message.id);
    const files = attachments.filter((a) => a.kind === 'file' && !a.isInline);
    if (files.length === 0) {
      return [{ kind: 'ignored', reason: `no file attachment (${attachments.length} inline or item attachments)` }];
    }
    const outcomes: AttachmentOutcome[] = [];
    for (const attachment of files) outcomes.push(await collectAttachment(context, mail, message, attachment));
    return outcomes;
  } catch (error) {
    // Moved or deleted since it was listed: nothing to collect, and no reason to fail the run.
    if (error instanceof GraphError && error.status === 404) {
      return [{ kind: 'ignored', reason: 'the message left the folder while it was being collected' }];
    }
    throw error;
  }
}

async function collectAttachment(
  context: CollectContext,
  mail: MailSource,
  message: MailMessage,
  attachment: MailAttachment,
): Promise<AttachmentOutcome> {
  const { config } = context;
  const name = attachment.name;
  const ignored = (reason: string): AttachmentOutcome => ({ kind: 'ignored', reason: `${name}: ${reason}` });
  if (!isCsv(name, attachment.contentType)) return ignored('not a CSV file');

  const named = recogniseTypeFromName(name, config);
  if (named) {
    const failure = matchFailure(named, message, config);
    if (failure) return ignored(failure);
    if (!context.requested(named)) return { kind: 'notRequested', type: named.type };
  }
  const limit = config.mailbox.maxAttachmentBytes;
  if (attachment.size > limit) return ignored(tooLarge(attachment.size, limit));

  let file: SpooledFile;
  try {
    file = await mail.download(message.id, attachment.id, (chunks) => context.spool(chunks, limit));
  } catch (error) {
    if (error instanceof TooLargeError) return ignored(tooLarge(undefined, limit));
    throw error;
  }

  try {
    let spec = named;
    if (!spec) {
      const byHeader = typeFromHeader(
        file,
        config,
        (candidate) => matchFailure(candidate, message, config),
        'the name or subject',
      );
      if (typeof byHeader === 'string') return ignored(byHeader);
      spec = byHeader;
      if (!context.requested(spec)) return { kind: 'notRequested', type: spec.type };
    }
    const kind = await context.store(file, spec.type, {
      messageId: message.internetMessageId ?? message.id,
      receivedAt: isoInstant(message.receivedAt),
      exportedAt: isoInstant(message.sentAt),
      sender: message.from ?? '',
      attachmentName: name,
      origin: 'graph',
    });
    return { kind, type: spec.type };
  } finally {
    await rm(file.path, { force: true });
  }
}

/** Files pushed under the agent inbox prefix whose export time lies in the run's window. */
async function collectAgentInbox(context: CollectContext): Promise<void> {
  const { deps, run, config } = context;
  const keys: { key: string; size: number }[] = [];
  const listing = paginateListObjectsV2(
    { client: deps.s3 },
    { Bucket: deps.resources.dataBucket, Prefix: config.agentInbox.prefix },
  );
  for await (const page of listing) {
    for (const object of page.Contents ?? []) {
      if (object.Key && !object.Key.endsWith('/')) {
        keys.push({ key: object.Key, size: object.Size ?? 0 });
      }
    }
  }
  const start = Date.parse(run.window.start);
  const end = Date.parse(run.window.end);
  const limit = config.mailbox.maxAttachmentBytes;

  await mapPool(keys, s3Concurrency, async ({ key, size }) => {
    const name = key.split('/').pop() ?? key;
    const ignored = (reason: string) =>
      context.listIgnored({ messageId: key, subject: '', reason: `${name}: ${reason}` });
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.resources.dataBucket, Key: key }));
    const exportedAt = agentExportTime(name, head, config.timeZone);
    if (exportedAt === undefined || exportedAt < start || exportedAt >= end) return;

    if (!isCsv(name, head.ContentType ?? '')) return ignored('not a CSV file');
    const named = recogniseTypeFromName(name, config);
    if (named && !context.requested(named)) return;
    if (size > limit) return ignored(tooLarge(size, limit));
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.resources.dataBucket, Key: key }));
    let file: SpooledFile;
    try {
      file = await context.spool(object.Body as AsyncIterable<Uint8Array>, limit);
    } catch (error) {
      if (error instanceof TooLargeError) return ignored(tooLarge(undefined, limit));
      throw error;
    }
    try {
      let spec = named;
      if (!spec) {
        const byHeader = typeFromHeader(file, config, () => undefined, 'a name like <Type>__YYYY-MM-DD_HHMM.csv');
        if (typeof byHeader === 'string') return ignored(byHeader);
        spec = byHeader;
        if (!context.requested(spec)) return;
      }
      await context.store(file, spec.type, {
        messageId: key,
        receivedAt: (head.LastModified ?? new Date(exportedAt)).toISOString(),
        exportedAt: new Date(exportedAt).toISOString(),
        sender: fromHeaderSafe(head.Metadata?.sender) ?? '',
        attachmentName: name,
        origin: 'agent',
      });
      context.summary.agentFiles++;
    } finally {
      await rm(file.path, { force: true });
    }
  });
}

/** The export time of an inbox file: its `exported-at` metadata, the time in its name, or its upload time. */
function agentExportTime(
  name: string,
  head: Pick<HeadObjectCommandOutput, 'Metadata' | 'LastModified'>,
  timeZone: string,
): number | undefined {
  const declared = head.Metadata?.['exported-at'];
  if (declared && !Number.isNaN(Date.parse(declared))) return Date.parse(declared);
  const stamp = /__(\d{4}-\d{2}-\d{2})_(\d{2})(\d{2})(?:\.[A-Za-z0-9]+)?$/.exec(name);
  if (stamp) {
    const instant = localToInstant(`${stamp[1]} ${stamp[2]}:${stamp[3]}:00`, timeZone);
    if (instant !== undefined) return instant;
  }
  return head.LastModified?.getTime();
}

/** Every raw file of the run's day and types, so a rerun ingests the whole day again. */
async function listRawFiles(deps: CollectDeps, run: Run): Promise<SourceFile[]> {
  const bucket = deps.resources.dataBucket;
  const keys: { key: string; type: string }[] = [];
  for (const type of run.reports) {
    const prefix = `raw/${run.date}/${type}/`;
    for await (const page of paginateListObjectsV2({ client: deps.s3 }, { Bucket: bucket, Prefix: prefix })) {
      for (const object of page.Contents ?? []) if (object.Key?.endsWith('.csv')) keys.push({ key: object.Key, type });
    }
  }
  const files = await mapPool(keys, s3Concurrency, async ({ key, type }): Promise<SourceFile> => {
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const meta = head.Metadata ?? {};
    const name = key.split('/').pop() ?? key;
    const stored = (head.LastModified ?? new Date(0)).toISOString();
    return {
      bucket,
      key,
      type,
      sha256: meta.sha256 ?? name.replace(/\.csv$/, ''),
      bytes: head.ContentLength ?? 0,
      exportedAt: meta['exported-at'] ?? stored,
      receivedAt: meta['received-at'] ?? stored,
      messageId: fromHeaderSafe(meta['message-id']) ?? key,
      attachmentName: fromHeaderSafe(meta['attachment-name']) ?? name,
      origin: meta.origin === 'graph' ? 'graph' : 'agent',
    };
  });
  return files.sort((a, b) => a.exportedAt.localeCompare(b.exportedAt) || a.key.localeCompare(b.key));
}

/**
 * The type a file's header line tells, among those whose rules accept it; otherwise why
 * not. `tellApart` names what distinguishes types that share a header.
 */
function typeFromHeader(
  file: SpooledFile,
  config: Config,
  rejection: (spec: ExportSpec) => string | undefined,
  tellApart: string,
): ExportSpec | string {
  const candidates = recogniseTypeFromHeader(headerCells(file.head), config);
  if (candidates.length === 0) return 'neither its name nor its header is one of the configured exports';
  const fitting = candidates.filter((spec) => rejection(spec) === undefined);
  const types = candidates.map((c) => c.type).join(', ');
  if (fitting.length === 0) return `its header fits ${types}, but ${candidates.map(rejection).join('; ')}`;
  if (fitting.length > 1) return `its header fits ${fitting.map((c) => c.type).join(', ')}; only ${tellApart} can tell`;
  return fitting[0] as ExportSpec;
}

/** Why a type's rules reject a message, or undefined when they accept it. */
function matchFailure(spec: ExportSpec, message: MailMessage, config: Config): string | undefined {
  if (!acceptsSender(spec, message.from, config)) {
    return `sender ${message.from ?? '(none)'} is not accepted for ${spec.type}`;
  }
  if (spec.match.subject && !new RegExp(spec.match.subject, 'i').test(message.subject)) {
    return `the subject does not match ${spec.type}`;
  }
  return undefined;
}

/** A type's own senders override the mailbox's; an empty list accepts anyone. */
function acceptsSender(spec: ExportSpec, sender: string | undefined, config: Config): boolean {
  const senders = spec.match.senders ?? config.mailbox.senders;
  if (senders.length === 0) return true;
  return sender !== undefined && senders.some((s) => s.toLowerCase() === sender.toLowerCase());
}

function isCsv(name: string, contentType: string): boolean {
  return /\.csv$/i.test(name) || /^(text|application)\/csv\b/i.test(contentType);
}

function tooLarge(size: number | undefined, limit: number): string {
  return `${size === undefined ? 'more than' : `${size} bytes,`} over maxAttachmentBytes (${limit})`;
}

/** The header line's cells, for telling a file's type when its name does not. */
function headerCells(head: Uint8Array): string[] {
  const encoding =
    head[0] === 0xff && head[1] === 0xfe ? 'utf-16le' : head[0] === 0xfe && head[1] === 0xff ? 'utf-16be' : 'utf-8';
  const line = new TextDecoder(encoding).decode(head).split(/\r?\n/, 1)[0] ?? '';
  const delimiter = [',', ';', '\t'].reduce((best, d) => (line.split(d).length > line.split(best).length ? d : best));
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') {
      if (quoted && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === delimiter && !quoted) {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/** S3 metadata travels as HTTP headers: non-ASCII characters (and `%`) are percent-encoded. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]|%/gu, (ch) => encodeURIComponent(ch));
}

function fromHeaderSafe(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function isoInstant(value: string): string {
  return new Date(value).toISOString();
}

async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as Error).name === 'NotFound' || status === 404) return false;
    throw error;
  }
}

function summaryCounts(summary: CollectSummary): Omit<CollectSummary, 'ignored'> {
  const { ignored: _ignored, ...counts } = summary;
  return counts;
}

async function mapPool<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
