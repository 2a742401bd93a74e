import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readMimeHeaders } from '../functions/collect/mime.ts';
import type { Config } from '../functions/common/config.ts';
import { agentInboxKey } from '../functions/common/keys.ts';
import { headerSafe, objectExists } from '../functions/common/objects.ts';
import { localDate, localToInstant } from '../functions/common/time.ts';

/** One saved file, and where it goes in the data bucket. */
export interface BackfillFile {
  path: string;
  kind: 'eml' | 'csv';
  key: string;
  /** When the mail was received / the export made: which days' runs collect it. */
  at: Date;
  /** How `at` was found. */
  atFrom: 'Received header' | 'Date header' | 'file name' | 'file time';
  /** The business day run for it. */
  day: string;
  metadata: Record<string, string>;
}

export interface BackfillPlan {
  files: BackfillFile[];
  /** Every business day a file falls in, in order. */
  days: string[];
  /** Files that are neither .eml nor .csv. */
  skipped: string[];
}

/**
 * What a backfill from a folder does: each `.eml` goes under the saved-mail prefix and each
 * `.csv` into the inbox collect reads pushed files from (as the Windows agent puts them),
 * both under their content hash, so a second backfill uploads nothing. The days to run are
 * those whose collection window (the local day plus the grace period) holds a file's time:
 * an email's Received (else Date) header, a CSV's export time from its name
 * (`<Type>__YYYY-MM-DD_HHMM.csv`, as the agent names files) or else the file's modified time.
 */
export async function planBackfill(dir: string, config: Config): Promise<BackfillPlan> {
  const paths = await walk(dir);
  const files: BackfillFile[] = [];
  const skipped: string[] = [];
  for (const path of paths) {
    const lower = path.toLowerCase();
    if (lower.endsWith('.eml')) files.push(await planEml(path, config));
    else if (lower.endsWith('.csv')) files.push(await planCsv(path, config));
    else skipped.push(relative(dir, path));
  }
  // A file in the grace period after midnight is collected by the run of the day before as
  // well: it goes with that day when the folder holds files of that day, else with its own.
  const dayOf = (file: BackfillFile) => localDate(file.at.getTime(), config.timeZone);
  const dayBefore = (file: BackfillFile) =>
    localDate(file.at.getTime() - config.mailbox.graceMinutes * 60_000, config.timeZone);
  const heldDays = new Set(files.filter((file) => dayBefore(file) === dayOf(file)).map(dayOf));
  for (const file of files) file.day = heldDays.has(dayBefore(file)) ? dayBefore(file) : dayOf(file);
  const days = [...new Set(files.map((file) => file.day))].sort();
  return { files, days, skipped };
}

/** Uploads the plan's files that are not in the bucket yet; `onProgress` after each. */
export async function uploadBackfill(
  s3: S3Client,
  bucket: string,
  plan: BackfillPlan,
  onProgress: (done: number, total: number, file: BackfillFile, uploaded: boolean) => void,
): Promise<{ uploaded: number; present: number }> {
  let uploaded = 0;
  let present = 0;
  let done = 0;
  const queue = [...plan.files];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const exists = await objectExists(s3, bucket, file.key);
      if (exists) present++;
      else {
        const { size } = await stat(file.path);
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: file.key,
            Body: createReadStream(file.path),
            ContentLength: size,
            ContentType: file.kind === 'eml' ? 'message/rfc822' : 'text/csv',
            Metadata: file.metadata,
          }),
        );
        uploaded++;
      }
      onProgress(++done, plan.files.length, file, !exists);
    }
  };
  await Promise.all(Array.from({ length: uploadConcurrency }, worker));
  return { uploaded, present };
}

const uploadConcurrency = 4;

async function planEml(path: string, config: Config): Promise<BackfillFile> {
  const bytes = await readFile(path);
  const headers = await readMimeHeaders(createReadStream(path));
  const { mtime } = await stat(path);
  const [at, atFrom] = headers?.received
    ? [headers.received, 'Received header' as const]
    : headers?.date
      ? [headers.date, 'Date header' as const]
      : [mtime, 'file time' as const];
  return {
    path,
    kind: 'eml',
    key: `${config.mailbox.savedMailPrefix}backfill/${sha256(bytes)}.eml`,
    at,
    atFrom,
    day: '',
    metadata: { 'source-name': headerSafe(basename(path)) },
  };
}

async function planCsv(path: string, config: Config): Promise<BackfillFile> {
  const bytes = await readFile(path);
  const name = basename(path);
  const stamp = /__(\d{4}-\d{2}-\d{2})_(\d{2})(\d{2})\.csv$/i.exec(name);
  const named = stamp ? localToInstant(`${stamp[1]} ${stamp[2]}:${stamp[3]}:00`, config.timeZone) : undefined;
  const [at, atFrom] =
    named === undefined ? [(await stat(path)).mtime, 'file time' as const] : [new Date(named), 'file name' as const];
  const exportedAt = at.toISOString();
  return {
    path,
    kind: 'csv',
    key: agentInboxKey(config.agentInbox.prefix, 'backfill', exportedAt, sha256(bytes), name),
    at,
    atFrom,
    day: '',
    metadata: { 'exported-at': exportedAt, 'received-at': exportedAt, 'attachment-name': headerSafe(name) },
  };
}

async function walk(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await walk(path)));
    else if (entry.isFile()) found.push(path);
  }
  return found.sort();
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
