import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentRules, UploadRequest } from '../../functions/agent-upload/contract.ts';
import { type RetryOptions, retry } from '../../functions/common/retry.ts';
import { localDate } from '../../functions/common/time.ts';
import type { AgentConfig } from './config.ts';
import { type EndpointClient, EndpointError } from './endpoint.ts';
import type { AgentLog } from './log.ts';
import type { OutlookReader } from './outlook.ts';
import { type FoundFile, selectExport } from './select.ts';
import {
  type AgentState,
  forgetBefore,
  loadState,
  type PendingFile,
  pushedBefore,
  type RunRecord,
  saveState,
} from './state.ts';

export interface PushOptions {
  dryRun: boolean;
  /** Push the CSVs saved in this folder (by an Outlook rule) instead of reading Outlook. */
  fromFolder?: string;
}

export interface PushDeps {
  config: AgentConfig;
  endpoint: EndpointClient;
  outlook: OutlookReader;
  log: AgentLog;
  /** What the operator sees: one line per file pushed (or, dry, that would be), and a summary. */
  out: (line: string) => void;
  now: () => number;
  /** Backoff while the endpoint or S3 cannot be reached; tests pass their own sleep. */
  retry?: RetryOptions;
}

/** About two minutes of backoff before a run gives up; the next hourly run starts over. */
const defaultRetry: RetryOptions = { attempts: 6, baseMs: 2_000, maxMs: 60_000 };

/** A file found this run: read from disk only when its turn comes, so that a long backlog is not held in memory. */
interface Candidate extends Omit<FoundFile, 'bytes' | 'head'> {
  path: string;
  /** The Outlook attachment, when it came from Outlook. */
  attachment?: string;
}

/**
 * One run: finds the new exports (Outlook, or a folder), keeps those collect would take,
 * and pushes each through a presigned PUT, recording it at once so that nothing is pushed twice.
 */
export async function pushExports(options: PushOptions, deps: PushDeps): Promise<RunRecord> {
  const { config, log } = deps;
  const startedMs = deps.now();
  const since = startedMs - config.windowHours * 3_600_000;
  const state = await loadState(config.stateFile);
  const source = options.fromFolder ? 'folder' : 'outlook';
  const record: RunRecord = {
    startedAt: new Date(startedMs).toISOString(),
    finishedAt: '',
    source,
    dryRun: options.dryRun,
    found: 0,
    pushed: 0,
    alreadyPushed: 0,
    skipped: 0,
    pending: [],
  };
  const work = await mkdtemp(join(tmpdir(), 'charlie-agent-'));
  const retryOptions: RetryOptions = {
    ...defaultRetry,
    ...deps.retry,
    retryable: (error) => error instanceof EndpointError && error.transient,
    delayHint: (error) => (error instanceof EndpointError ? error.retryAfterMs : undefined),
  };
  let remaining: Candidate[] = [];
  try {
    remaining = options.fromFolder
      ? await folderFiles(options.fromFolder, since, state)
      : await outlookFiles(deps, since, work, state);
    record.found = remaining.length;
    log.info('Found files', { source, found: remaining.length, since: new Date(since).toISOString() });
    if (remaining.length > 0) {
      const rules = await retry(() => deps.endpoint.rules(), retryOptions);
      while (remaining.length > 0) {
        const file = remaining[0] as Candidate;
        await handle(file, rules, state, record, deps, options, retryOptions);
        remaining.shift();
      }
    }
  } catch (error) {
    record.error = (error as Error).message;
    log.error('Run stopped', { error: record.error, pending: remaining.length });
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  record.pending.push(...remaining.map((file) => pending(file, record.error ?? 'not reached')));
  record.finishedAt = new Date(deps.now()).toISOString();
  if (!options.dryRun) {
    forgetBefore(state, since);
    state.lastRun = record;
    await saveState(config.stateFile, state);
  }
  log.info('Run finished', {
    source,
    dryRun: options.dryRun,
    found: record.found,
    pushed: record.pushed,
    alreadyPushed: record.alreadyPushed,
    skipped: record.skipped,
    pending: record.pending.length,
  });
  return record;
}

async function handle(
  file: Candidate,
  rules: AgentRules,
  state: AgentState,
  record: RunRecord,
  deps: PushDeps,
  options: PushOptions,
  retryOptions: RetryOptions,
): Promise<void> {
  const { log, out } = deps;
  const { size } = await stat(file.path);
  const selection = await selectExport({ ...file, bytes: size, head: (length) => readHead(file.path, length) }, rules);
  if ('skipped' in selection) {
    record.skipped++;
    log.info('Left out', { fileName: file.fileName, reason: selection.skipped });
    return;
  }
  // At most maxAttachmentBytes now: hashed and uploaded from memory.
  const body = await readFile(file.path);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const day = localDate(Date.parse(file.exportedAt), rules.timeZone);
  const entry = {
    day,
    sha256,
    fileName: file.fileName,
    receivedAt: file.receivedAt,
    exportedAt: file.exportedAt,
    ...(file.attachment ? { attachment: file.attachment } : {}),
  };
  const before = pushedBefore(state, day, sha256, file.exportedAt);
  if (before) {
    record.alreadyPushed++;
    log.info('Already pushed', { fileName: file.fileName, key: before.key });
    if (!options.dryRun) await remember(state, deps, { ...entry, key: before.key });
    return;
  }
  if (options.dryRun) {
    record.pushed++;
    out(`would push ${file.fileName}${typeSuffix(selection.type)} (${body.length} bytes, received ${file.receivedAt})`);
    return;
  }

  const request: UploadRequest = {
    fileName: file.fileName,
    ...(selection.type ? { type: selection.type } : {}),
    bytes: body.length,
    sha256,
    receivedAt: file.receivedAt,
    exportedAt: file.exportedAt,
    ...(file.message ? { messageId: file.message.messageId } : {}),
    ...(file.message?.sender ? { sender: file.message.sender } : {}),
  };
  try {
    // A new URL for each attempt: an upload retried later may outlive the URL it first had.
    const response = await retry(async () => {
      const answer = await deps.endpoint.requestUpload(request);
      if (!answer.alreadyStored) await deps.endpoint.upload(answer.url, answer.headers, body);
      return answer;
    }, retryOptions);
    if (!response.alreadyStored) {
      state.lastPush = { at: new Date(deps.now()).toISOString(), key: response.key, fileName: file.fileName };
    }
    await remember(state, deps, { ...entry, key: response.key });
    if (response.alreadyStored) {
      record.alreadyPushed++;
      log.info('Already stored', { fileName: file.fileName, key: response.key });
    } else {
      record.pushed++;
      log.info('Pushed', { fileName: file.fileName, key: response.key, bytes: body.length });
      out(`pushed ${file.fileName}${typeSuffix(selection.type)} to ${response.key}`);
    }
  } catch (error) {
    // Refused for this file alone (a bad request, too large): the others still go.
    if (!(error instanceof EndpointError) || error.transient || error.status === 401 || error.status === 403)
      throw error;
    record.pending.push(pending(file, error.message));
    log.error('Refused', { fileName: file.fileName, status: error.status, error: error.message });
  }
}

/** Records a file as in the inbox, on disk at once: a crash later in the run does not push it again. */
async function remember(state: AgentState, deps: PushDeps, file: Omit<AgentState['pushed'][number], 'pushedAt'>) {
  state.pushed.push({ ...file, pushedAt: new Date(deps.now()).toISOString() });
  await saveState(deps.config.stateFile, state);
}

async function readHead(path: string, length: number): Promise<Uint8Array> {
  const handle = await open(path);
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function typeSuffix(type: string | undefined): string {
  return type ? ` as ${type}` : '';
}

function pending(file: Candidate, reason: string): PendingFile {
  return { fileName: file.fileName, receivedAt: file.receivedAt, reason };
}

async function outlookFiles(deps: PushDeps, since: number, saveDir: string, state: AgentState): Promise<Candidate[]> {
  const { outlook } = deps.config;
  const attachments = await deps.outlook.read({
    folder: outlook.folder,
    ...(outlook.account ? { account: outlook.account } : {}),
    since: new Date(since),
    saveDir,
    known: state.pushed.flatMap((p) => (p.attachment ? [p.attachment] : [])),
  });
  // Restrict compares to the minute; the window is exact here.
  const files = attachments
    .filter((a) => Date.parse(a.receivedAt) >= since)
    .map(
      (a): Candidate => ({
        path: a.path,
        fileName: a.attachmentName,
        receivedAt: a.receivedAt,
        exportedAt: a.sentAt,
        message: { messageId: a.messageId, sender: a.sender, subject: a.subject },
        attachment: a.id,
      }),
    );
  return byExportTime(files);
}

/** CSVs and zips saved by an Outlook rule: the file's modification time stands for both receipt and export. */
async function folderFiles(dir: string, since: number, state: AgentState): Promise<Candidate[]> {
  const files: Candidate[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() || !/\.(csv|zip)$/i.test(entry.name)) continue;
    const path = join(dir, entry.name);
    const { mtimeMs } = await stat(path);
    if (mtimeMs < since) continue;
    const savedAt = new Date(mtimeMs).toISOString();
    // Quick skip before reading: this very file, unchanged, was pushed already.
    if (state.pushed.some((p) => p.fileName === entry.name && p.exportedAt === savedAt)) continue;
    files.push({ path, fileName: entry.name, receivedAt: savedAt, exportedAt: savedAt });
  }
  return byExportTime(files);
}

/** Earliest export first: of two copies of the same content, collect keeps the earlier one's lineage. */
function byExportTime(files: Candidate[]): Candidate[] {
  return files.sort((a, b) => a.exportedAt.localeCompare(b.exportedAt) || a.fileName.localeCompare(b.fileName));
}
