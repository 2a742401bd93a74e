import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Resources } from '../common/clients.ts';
import type { Config, ExportSpec } from '../common/config.ts';
import type {
  CollectResult,
  CollectSummary,
  FileOrigin,
  IgnoredMessage,
  Run,
  RunInput,
  SourceFile,
} from '../common/contracts.ts';
import { emptyCollectSummary } from '../common/contracts.ts';
import { TransientError } from '../common/errors.ts';
import {
  acceptsSender,
  matchFailure,
  recogniseTypeFromHeader,
  recogniseTypeFromName,
  senderFix,
  senderRules,
} from '../common/exports.ts';
import { rawKey } from '../common/keys.ts';
import { boundedMetadata, isLineageKey, objectExists, readMetadata, storeLineage } from '../common/objects.ts';
import { logger } from '../common/observability.ts';
import { listQuarantined, type QuarantineRecord, quarantine, releaseQuarantined } from '../common/quarantine.ts';
import { isTransientAwsError } from '../common/retry.ts';
import { localToInstant } from '../common/time.ts';
import { mapPool } from './concurrency.ts';
import { createSavedMailSource } from './eml.ts';
import {
  type ExtractedCsv,
  type Extractor,
  extract,
  type FileForm,
  fileForm,
  InflateBudget,
  notCollectable,
  tooLarge,
  ZipLimitError,
} from './extract.ts';
import { GraphError } from './graph.ts';
import type { AttachmentReader, MailAttachment, MailMessage, MailSource } from './mail.ts';
import { UnreadableError } from './mime.ts';
import { resolveRun } from './run.ts';
import { messageConcurrency, type SpooledFile, Spooler } from './spool.ts';
import { splitUndone } from './undo.ts';

export interface CollectEvent {
  input: RunInput;
  executionId: string;
}

export interface CollectDeps {
  config: Config;
  s3: S3Client;
  resources: Resources;
  /** The Graph mailbox folder; none means only saved mail and the agent inbox are collected. */
  mail: MailSource | undefined;
  now?: () => number;
  /** Where attachments are spooled while hashed (default: the OS temp directory). */
  tempDir?: string;
}

/**
 * Files left out that the run's manifest lists, each with its reason; past it they are
 * counted and logged only. A day's mail is a few hundred messages: the cap only bounds a
 * folder gone wrong.
 */
const maxIgnoredListed = 5_000;

/** Bytes read of an attachment from a sender no type accepts, to tell whether it looks like an export. */
const peekBytes = 16 * 1024;

const s3Concurrency = 8;

interface StoreMetadata {
  messageId: string;
  receivedAt: string;
  exportedAt: string;
  sender: string;
  attachmentName: string;
  origin: FileOrigin;
}

/** Where a file came from, and whose rules decide which export types it may be. */
interface Provenance {
  messageId: string;
  receivedAt: string;
  exportedAt: string;
  sender: string;
  origin: FileOrigin;
  /** Why a type's rules refuse the file, and what would change that, or undefined when they accept it. */
  refuse: (spec: ExportSpec) => { reason: string; fix: string } | undefined;
  /** What tells apart types that share a header, for the reason given when nothing does. */
  tellApart: string;
  /** The name a stored CSV records, from the name it was found under. */
  storedName: (name: string) => string;
}

/** An attachment or inbox file, before it is read. */
interface IncomingFile {
  name: string;
  form: FileForm | undefined;
  /** As its source reports it before reading, when it does. */
  size: number | undefined;
  read: AttachmentReader;
}

/** Why a file is left out, whether that was meant (see IgnoredMessage) and what would collect it. */
export interface LeftOut {
  reason: string;
  severity: 'intentional' | 'suspicious';
  fix?: string;
}

export type FileOutcome =
  | { kind: 'stored' | 'alreadyStored'; type: string }
  /** An export of a type this run does not collect. */
  | { kind: 'notRequested'; type: string }
  | ({ kind: 'ignored' } & LeftOut)
  /** The whole message (or inbox file) is kept aside: see functions/common/quarantine.ts. */
  | { kind: 'quarantined'; source: string; reason: string };

/**
 * The first state: decides the run, stores every export of the day found in the mailbox
 * folder, in saved mail and in the agent inbox under its content address, and lists all
 * the day's raw files.
 */
export async function collect(event: CollectEvent, deps: CollectDeps): Promise<CollectResult> {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const run = resolveRun(event.input ?? {}, event.executionId, config, now());
  const work = await mkdtemp(join(deps.tempDir ?? tmpdir(), 'charlie-collect-'));
  const summary: CollectSummary = emptyCollectSummary();
  const context = new CollectContext(deps, run, new Spooler(work, config.mailbox.maxAttachmentBytes), summary);
  try {
    if (run.release) {
      const released = await releaseQuarantined(deps.s3, deps.resources.dataBucket, run.date, run.release);
      logger.info('Released from quarantine', { date: run.date, released });
    }
    for (const record of await listQuarantined(deps.s3, deps.resources.dataBucket, run.date)) {
      context.quarantined.set(record.source, record);
    }
    if (deps.mail) await collectMail(context, deps.mail);
    const savedMail = createSavedMailSource({
      s3: deps.s3,
      bucket: deps.resources.dataBucket,
      prefix: config.mailbox.savedMailPrefix,
    });
    await collectMail(context, savedMail);
    await collectAgentInbox(context);
    const { files, undone } = await splitUndone(
      deps.s3,
      deps.resources.dataBucket,
      run,
      await listRawFiles(deps, run),
      new Date(now()).toISOString(),
    );
    logger.info('Collected', {
      executionId: run.executionId,
      mailbox: deps.mail?.name,
      date: run.date,
      reports: run.reports,
      ...summaryCounts(summary),
      messagesMoved: context.messagesMoved,
      files: files.length,
      undone: undone.map((file) => file.key),
    });
    return { run, files, undone, mail: summary };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** What the collection of one run shares: where to spool, what to store, what was counted. */
class CollectContext {
  private readonly claims = new Map<string, Promise<StoreClaim>>();
  /** The day's quarantined inputs, by source id: skipped until they change or are released. */
  readonly quarantined = new Map<string, QuarantineRecord>();
  messagesMoved = 0;

  constructor(
    readonly deps: CollectDeps,
    readonly run: Run,
    readonly spooler: Spooler,
    readonly summary: CollectSummary,
  ) {}

  get config(): Config {
    return this.deps.config;
  }

  requested(spec: ExportSpec): boolean {
    return this.run.reports.includes(spec.type);
  }

  /** Keeps an input aside with the reason it failed, and a copy of its bytes when they are stored in S3. */
  async quarantine(
    source: string,
    reason: string,
    detail: Record<string, string>,
    copyFrom: string | undefined,
  ): Promise<FileOutcome> {
    const { s3, resources, now } = this.deps;
    const record = await quarantine(
      s3,
      resources.dataBucket,
      {
        source,
        stage: 'collect',
        date: this.run.date,
        reason,
        at: new Date((now ?? Date.now)()).toISOString(),
        detail,
      },
      copyFrom === undefined ? undefined : { copyFrom },
    );
    this.quarantined.set(source, record);
    logger.warn('Quarantined', { source, reason: record.reason, ...detail });
    return { kind: 'quarantined', source, reason: record.reason };
  }

  listIgnored(message: { messageId: string; subject: string }, { reason, severity, fix }: LeftOut): void {
    const entry: IgnoredMessage = { ...message, reason, severity, ...(fix === undefined ? {} : { fix }) };
    if (this.summary.ignored.length < maxIgnoredListed) this.summary.ignored.push(entry);
    logger.info('Not collected', { messageId: entry.messageId, reason, severity });
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
      if (await objectExists(s3, resources.dataBucket, key)) {
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
    // Names and ids of any length: the metadata stays within S3's 2 KB, long values kept beside the file.
    const lineage = boundedMetadata({
      'message-id': metadata.messageId,
      'received-at': metadata.receivedAt,
      'exported-at': metadata.exportedAt,
      sender: metadata.sender,
      'attachment-name': metadata.attachmentName,
      type,
      origin: metadata.origin,
      sha256: file.sha256,
    });
    await storeLineage(s3, resources.dataBucket, key, lineage.beside);
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
          Metadata: lineage.metadata,
        }),
      );
    } finally {
      await handle.close();
    }
  }
}

/** A collection that stores nothing: `stored` then means that a run would store the file. */
class PreviewContext extends CollectContext {
  override store(): Promise<'stored'> {
    return Promise.resolve('stored');
  }

  /** A run would keep the message aside; a preview only says so. */
  override quarantine(source: string, reason: string): Promise<FileOutcome> {
    return Promise.resolve({ kind: 'quarantined', source, reason });
  }
}

/**
 * What a run would do with each message, by the same decisions as `collect`: the outcome of
 * each of its files (an export type, or ignored and why). Attachments are downloaded to be
 * read; nothing is stored and no message is moved.
 */
export async function previewMessages(
  deps: CollectDeps & { mail: MailSource },
  messages: readonly MailMessage[],
): Promise<FileOutcome[][]> {
  const { config, mail } = deps;
  const run = resolveRun({}, 'preview', config, (deps.now ?? Date.now)());
  const work = await mkdtemp(join(deps.tempDir ?? tmpdir(), 'charlie-preview-'));
  const context = new PreviewContext(
    deps,
    run,
    new Spooler(work, config.mailbox.maxAttachmentBytes),
    emptyCollectSummary(),
  );
  // Without `messageCollected`, collecting a message never files it away.
  const readOnly: MailSource = {
    name: mail.name,
    origin: mail.origin,
    messages: (window) => mail.messages(window),
    eachAttachment: (messageId, visit) => mail.eachAttachment(messageId, visit),
  };
  try {
    return await mapPool(messages, messageConcurrency, (message) => collectMessage(context, readOnly, message));
  } finally {
    await rm(work, { recursive: true, force: true });
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
    const files = outcomes[i] ?? [];
    const messageId = message.internetMessageId ?? message.id;
    summary.messagesSeen++;
    const quarantined = files.find((outcome) => outcome.kind === 'quarantined');
    if (quarantined?.kind === 'quarantined') {
      summary.messagesQuarantined = (summary.messagesQuarantined ?? 0) + 1;
      context.listIgnored({ messageId, subject: message.subject }, quarantinedReason(quarantined));
      return;
    }
    let recognised = false;
    for (const outcome of files) {
      // An attachment left behind is reported even when others of its message were taken.
      if (outcome.kind === 'ignored') context.listIgnored({ messageId, subject: message.subject }, outcome);
      else recognised = true;
      if (outcome.kind === 'stored') summary.attachmentsStored++;
      if (outcome.kind === 'alreadyStored') summary.attachmentsAlreadyStored++;
    }
    if (recognised) summary.messagesMatched++;
    else summary.messagesIgnored++;
  });
}

/**
 * Collects one message. A message that fails by its own fault (it cannot be read, Graph
 * refuses it, a zip in it is past the limits, anything unexpected) is quarantined, and so
 * skipped by later runs until it changes or is released; a failure of the transfer or of the
 * store fails the stage, which Step Functions tries again.
 */
async function collectMessage(context: CollectContext, mail: MailSource, message: MailMessage): Promise<FileOutcome[]> {
  const earlier = context.quarantined.get(message.source);
  if (earlier) return [{ kind: 'quarantined', source: message.source, reason: earlier.reason }];
  try {
    if (message.unreadable !== undefined) throw new UnreadableError(message.unreadable);
    return await readMessage(context, mail, message);
  } catch (error) {
    if (!isInputFault(error)) throw error;
    const detail = {
      messageId: message.internetMessageId ?? message.id,
      subject: message.subject,
      sender: message.from ?? '',
      receivedAt: message.receivedAt,
    };
    return [await context.quarantine(message.source, faultReason(error), detail, message.storedAt)];
  }
}

async function readMessage(context: CollectContext, mail: MailSource, message: MailMessage): Promise<FileOutcome[]> {
  const { config } = context;
  const sender = message.from;
  const provenance: Provenance = {
    messageId: message.internetMessageId ?? message.id,
    receivedAt: isoInstant(message.receivedAt),
    exportedAt: isoInstant(message.sentAt),
    sender: sender ?? '',
    origin: mail.origin,
    refuse: (spec) => matchFailure(spec, message, config),
    tellApart: 'the name or subject',
    storedName: (name) => name,
  };
  try {
    if (!config.exports.some((spec) => acceptsSender(spec, sender, config))) {
      return [await unknownSender(config, mail, message)];
    }
    const outcomes: FileOutcome[] = [];
    const budget = new InflateBudget(config.mailbox);
    let inline = 0;
    await mail.eachAttachment(message.id, async (attachment, read) => {
      if (attachment.kind === 'reference') {
        outcomes.push({
          kind: 'ignored',
          reason: `${attachment.name}: a link to a file kept elsewhere, not a file`,
          severity: 'intentional',
          fix: 'have the export attached to the mail, not linked',
        });
        return;
      }
      // An attached message is opened whatever it is called.
      const form = attachment.kind === 'item' ? 'mail' : fileForm(attachment.name, attachment.contentType);
      // Images shown in the body (signatures, banners) are no attachment to report.
      if (!form && attachment.isInline) {
        inline++;
        return;
      }
      const file: IncomingFile = { name: attachment.name, form, size: attachment.size, read };
      outcomes.push(...(await collectFile(context, file, provenance, budget)));
    });
    if (outcomes.length === 0) {
      return [
        { kind: 'ignored', reason: `no attachment to collect (${inline} inline images)`, severity: 'intentional' },
      ];
    }
    if (mail.messageCollected && outcomes.every((o) => o.kind === 'stored' || o.kind === 'alreadyStored')) {
      await mail.messageCollected(message.id);
      context.messagesMoved++;
    }
    return outcomes;
  } catch (error) {
    // Moved or deleted since it was listed: nothing to collect, and no reason to fail the run.
    if (error instanceof GraphError && error.status === 404) {
      return [
        {
          kind: 'ignored',
          reason: 'the message left the folder while it was being collected',
          severity: 'intentional',
          fix: 'leave exports in the folder until a run has collected them',
        },
      ];
    }
    throw error;
  }
}

/**
 * Whether an error is the input's own fault, which a rerun would only repeat. Throttling,
 * unavailability, broken connections and the store refusing a request (access, configuration)
 * are not: they fail the stage.
 */
function isInputFault(error: unknown): boolean {
  if (error instanceof GraphError) return !error.transient && error.status !== 401 && error.status !== 403;
  if (error instanceof TransientError || isTransientAwsError(error)) return false;
  return (error as { $metadata?: unknown } | undefined)?.$metadata === undefined;
}

function faultReason(error: unknown): string {
  if (error instanceof UnreadableError || error instanceof ZipLimitError || error instanceof GraphError) {
    return error.message;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** How a quarantined input is listed: with the source id `release` takes. */
function quarantinedReason(outcome: Extract<FileOutcome, { kind: 'quarantined' }>): LeftOut {
  return {
    reason: `quarantined as ${outcome.source}: ${outcome.reason}`,
    severity: 'suspicious',
    fix: `mend or replace it, then rerun the day releasing it (charlie rerun --release ${outcome.source})`,
  };
}

/**
 * Why a message from a sender no type accepts is left out. Suspicious when it carries what
 * looks like an export, told cheaply: attachment names, a zip's first entry name, a CSV's
 * first line — at most `peekBytes` of each, nothing stored.
 */
async function unknownSender(config: Config, mail: MailSource, message: MailMessage): Promise<FileOutcome> {
  let shaped: { name: string; spec: ExportSpec } | undefined;
  await mail.eachAttachment(message.id, async (attachment, read) => {
    if (shaped || attachment.kind === 'reference') return;
    const spec = await exportShape(attachment, read, message.subject, config);
    if (spec) shaped = { name: attachment.name, spec };
  });
  const setting = shaped ? senderRules(shaped.spec, config).setting : 'mailbox.senders';
  const refused = `sender ${message.from ?? '(none)'} is not accepted (${setting})`;
  const fix = senderFix(message.from, setting);
  return shaped
    ? {
        kind: 'ignored',
        reason: `${shaped.name}: ${refused}, yet it sends what looks like an export`,
        severity: 'suspicious',
        fix,
      }
    : {
        kind: 'ignored',
        reason: `${refused}; nothing it sent looks like an export`,
        severity: 'intentional',
        fix: `if it does send exports, ${fix}`,
      };
}

/**
 * The export type an attachment looks like: by its name, a zip's first entry or a CSV's
 * header line; an attached email (a forwarded export) by its name or the message's subject.
 */
async function exportShape(
  attachment: MailAttachment,
  read: AttachmentReader,
  subject: string,
  config: Config,
): Promise<ExportSpec | undefined> {
  const form = attachment.kind === 'item' ? 'mail' : fileForm(attachment.name, attachment.contentType);
  if (form === undefined) return undefined;
  if (form === 'mail') {
    return config.exports.find((spec) => {
      const rule = spec.match.subject === undefined ? undefined : new RegExp(spec.match.subject, 'i');
      return rule !== undefined && (rule.test(attachment.name) || rule.test(subject));
    });
  }
  const named = recogniseTypeFromName(attachment.name, config);
  if (named) return named;
  const head = await read((chunks) => firstBytes(chunks, form === 'csv'));
  if (form === 'zip') {
    const entry = firstZipEntryName(head);
    return entry === undefined ? undefined : recogniseTypeFromName(entry, config);
  }
  return recogniseTypeFromHeader(headerCells(head), config)[0];
}

/** Up to `peekBytes` from the start of a stream, or to the first line break of a text; the rest is not read. */
async function firstBytes(chunks: AsyncIterable<Uint8Array>, text: boolean): Promise<Uint8Array> {
  const taken: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    taken.push(chunk.subarray(0, peekBytes - length));
    length += Math.min(chunk.length, peekBytes - length);
    if (length >= peekBytes || (text && chunk.includes(0x0a))) break;
  }
  return Buffer.concat(taken);
}

/** The name in a zip's first local file header (PK\x03\x04, name length at 26, name at 30). */
function firstZipEntryName(head: Uint8Array): string | undefined {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.length);
  if (bytes.length < 30 || bytes.readUInt32LE(0) !== 0x04034b50) return undefined;
  const nameLength = bytes.readUInt16LE(26);
  if (bytes.length < 30 + nameLength) return undefined;
  return bytes.toString('utf8', 30, 30 + nameLength);
}

/**
 * Stores the CSVs a file holds: itself, those in a zip, those attached to an attached email.
 * A CSV named for a type this run does not take, or refused by its rules, is not downloaded.
 */
async function collectFile(
  context: CollectContext,
  file: IncomingFile,
  provenance: Provenance,
  budget: InflateBudget,
): Promise<FileOutcome[]> {
  const { config, spooler } = context;
  const ignored = (leftOut: LeftOut): FileOutcome[] => [
    { kind: 'ignored', ...leftOut, reason: `${file.name}: ${leftOut.reason}` },
  ];
  const { form } = file;
  if (!form) return ignored({ reason: notCollectable, severity: 'intentional' });
  if (form === 'csv') {
    const named = recogniseTypeFromName(file.name, config);
    const refusal = named && provenance.refuse(named);
    if (refusal) return ignored({ ...refusal, severity: 'suspicious' });
    if (named && !context.requested(named)) return [{ kind: 'notRequested', type: named.type }];
  }
  if (file.size !== undefined && file.size > spooler.limit) {
    return ignored({ reason: tooLarge(file.size, spooler.limit), severity: 'suspicious', fix: raiseSizeLimit });
  }

  // A download tried again starts over: what its first try counted and stored is counted anew.
  const start = budget.snapshot();
  const { stored, ignoredReasons } = await file.read(async (chunks) => {
    budget.restore(start);
    const stored: FileOutcome[] = [];
    const extractor: Extractor = {
      spooler,
      budget,
      onCsv: async (csv) => {
        stored.push(await storeCsv(context, csv, provenance));
      },
    };
    return { stored, ignoredReasons: await extract(chunks, form, file.name, extractor) };
  });
  return [...ignoredReasons.map((reason): FileOutcome => ({ kind: 'ignored', ...leftInside(reason) })), ...stored];
}

const raiseSizeLimit = 'raise mailbox.maxAttachmentBytes if such files are exports';

/** What extract left behind inside a zip or attached mail: a part not collectable is meant, anything else is not. */
function leftInside(reason: string): LeftOut {
  if (reason.endsWith(notCollectable)) return { reason, severity: 'intentional' };
  if (reason.includes('over maxAttachmentBytes')) return { reason, severity: 'suspicious', fix: raiseSizeLimit };
  return { reason, severity: 'suspicious' };
}

async function storeCsv(context: CollectContext, csv: ExtractedCsv, provenance: Provenance): Promise<FileOutcome> {
  const { config } = context;
  const ignored = (leftOut: { reason: string; fix: string }): FileOutcome => ({
    kind: 'ignored',
    ...leftOut,
    reason: `${csv.name}: ${leftOut.reason}`,
    severity: 'suspicious',
  });
  let spec =
    recogniseTypeFromName(csv.name, config) ?? (csv.archive ? recogniseTypeFromName(csv.archive, config) : undefined);
  if (spec) {
    const refusal = provenance.refuse(spec);
    if (refusal) return ignored(refusal);
  } else {
    const byHeader = typeFromHeader(csv.file, config, provenance.refuse, provenance.tellApart);
    if ('reason' in byHeader) return ignored(byHeader);
    spec = byHeader;
  }
  if (!context.requested(spec)) return { kind: 'notRequested', type: spec.type };
  const kind = await context.store(csv.file, spec.type, {
    messageId: provenance.messageId,
    receivedAt: provenance.receivedAt,
    // A CSV from an attached email is the export as it was first sent: that email's Date,
    // not when someone forwarded it, places it among the day's exports.
    exportedAt: csv.sentAt ?? provenance.exportedAt,
    sender: provenance.sender,
    attachmentName: provenance.storedName(csv.name),
    origin: provenance.origin,
  });
  return { kind, type: spec.type };
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
      if (object.Key && !object.Key.endsWith('/') && !isLineageKey(object.Key)) {
        keys.push({ key: object.Key, size: object.Size ?? 0 });
      }
    }
  }
  const start = Date.parse(run.window.start);
  const end = Date.parse(run.window.end);

  await mapPool(keys, s3Concurrency, async ({ key, size }) => {
    const name = key.split('/').pop() ?? key;
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.resources.dataBucket, Key: key }));
    const exportedAt = agentExportTime(name, head, config.timeZone);
    if (exportedAt === undefined || exportedAt < start || exportedAt >= end) return;

    // Named by its key and version: a file replaced under the same key is a new source.
    const source = `${key}#${head.ETag?.replace(/"/g, '') ?? ''}`;
    const earlier = context.quarantined.get(source);
    const outcomes: FileOutcome[] = earlier
      ? [{ kind: 'quarantined', source, reason: earlier.reason }]
      : await collectInboxFile(context, key, name, size, head, exportedAt).catch(async (error: unknown) => {
          if (!isInputFault(error)) throw error;
          return [await context.quarantine(source, faultReason(error), { key }, key)];
        });
    const quarantined = outcomes.find((o) => o.kind === 'quarantined');
    if (quarantined?.kind === 'quarantined') {
      context.summary.messagesQuarantined = (context.summary.messagesQuarantined ?? 0) + 1;
      context.listIgnored({ messageId: key, subject: '' }, quarantinedReason(quarantined));
      return;
    }
    for (const outcome of outcomes) {
      if (outcome.kind === 'ignored') context.listIgnored({ messageId: key, subject: '' }, outcome);
    }
    context.summary.agentFiles += outcomes.filter((o) => o.kind === 'stored' || o.kind === 'alreadyStored').length;
  });
}

async function collectInboxFile(
  context: CollectContext,
  key: string,
  name: string,
  size: number,
  head: HeadObjectCommandOutput,
  exportedAt: number,
): Promise<FileOutcome[]> {
  const { deps, config } = context;
  // The Windows agent declares the message a file came from; a file dropped by hand has only its key and upload time.
  const declared = await readMetadata(deps.s3, deps.resources.dataBucket, key, head.Metadata);
  const declaredReceipt = Date.parse(declared['received-at'] ?? '');
  const declaredName = declared['attachment-name'];
  const provenance: Provenance = {
    messageId: declared['message-id'] ?? key,
    receivedAt: (Number.isNaN(declaredReceipt)
      ? (head.LastModified ?? new Date(exportedAt))
      : new Date(declaredReceipt)
    ).toISOString(),
    exportedAt: new Date(exportedAt).toISOString(),
    sender: declared.sender ?? '',
    origin: 'agent',
    refuse: () => undefined,
    tellApart: 'a name like <Type>__YYYY-MM-DD_HHMM.csv',
    // The key's name tells the type; the name the file had in the mail is its lineage.
    storedName: (found) => (declaredName === undefined ? found : declaredName + found.slice(name.length)),
  };
  const file: IncomingFile = {
    name,
    form: fileForm(name, head.ContentType ?? ''),
    size,
    read: async (consume) => {
      const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.resources.dataBucket, Key: key }));
      return consume(object.Body as AsyncIterable<Uint8Array>);
    },
  };
  return collectFile(context, file, provenance, new InflateBudget(config.mailbox));
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
    const meta = await readMetadata(deps.s3, bucket, key, head.Metadata);
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
      messageId: meta['message-id'] ?? key,
      attachmentName: meta['attachment-name'] ?? name,
      origin: fileOrigin(meta.origin),
    };
  });
  // Newest export first: its rows outrank every earlier version, so a day's first ingest writes each row once.
  return files.sort((a, b) => b.exportedAt.localeCompare(a.exportedAt) || a.key.localeCompare(b.key));
}

/**
 * The type a file's header line tells, among those whose rules accept it; otherwise why
 * not. `tellApart` names what distinguishes types that share a header.
 */
function typeFromHeader(
  file: SpooledFile,
  config: Config,
  rejection: Provenance['refuse'],
  tellApart: string,
): ExportSpec | { reason: string; fix: string } {
  const candidates = recogniseTypeFromHeader(headerCells(file.head), config);
  if (candidates.length === 0) {
    return {
      reason: 'neither its name nor its header is one of the configured exports',
      fix: 'if it is an export, add its type to exports[] or name it in an exports[].match.attachment',
    };
  }
  const fitting = candidates.filter((spec) => rejection(spec) === undefined);
  const types = candidates.map((c) => c.type).join(', ');
  if (fitting.length === 0) {
    const refusals = candidates.flatMap((spec) => rejection(spec) ?? []);
    return {
      reason: `its header fits ${types}, but ${refusals.map((r) => r.reason).join(', and ')}`,
      fix: [...new Set(refusals.map((r) => r.fix))].join('; '),
    };
  }
  if (fitting.length > 1) {
    return {
      reason: `its header fits ${fitting.map((c) => c.type).join(', ')}; only ${tellApart} can tell`,
      fix: 'name the attachment after its type (exports[].match.attachment) or set exports[].match.subject',
    };
  }
  return fitting[0] as ExportSpec;
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

function isoInstant(value: string): string {
  return new Date(value).toISOString();
}

function fileOrigin(value: string | undefined): FileOrigin {
  return value === 'graph' || value === 'saved-mail' ? value : 'agent';
}

function summaryCounts(summary: CollectSummary): Omit<CollectSummary, 'ignored'> {
  const { ignored: _ignored, ...counts } = summary;
  return counts;
}
