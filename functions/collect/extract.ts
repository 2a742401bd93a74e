import { rm } from 'node:fs/promises';
import { Unzip, UnzipInflate } from 'fflate';
import { isMessage, type MimeHeaders, partName, readMime } from './mime.ts';
import { type SpooledFile, type Spooler, TooLargeError } from './spool.ts';

/**
 * Takes the CSVs out of an attachment as it streams: a CSV as it is, the CSVs of a zip, the
 * attachments of an attached email — each spooled to disk and hashed, never held whole in
 * memory. What is not a CSV is reported, never dropped silently.
 */

/** What an attachment is, by its name or content type. */
export type FileForm = 'csv' | 'zip' | 'mail';

export interface ExtractedCsv {
  /** The attachment's name, with the zip and mail it came out of: `archive.zip/inner.csv`. */
  name: string;
  file: SpooledFile;
  /** The Date of the attached email it came out of, if any. */
  sentAt?: string;
  /** The name of the zip it came out of, if any: a zip named after an export type tells the type of its CSVs. */
  archive?: string;
}

export interface Extraction {
  csvs: ExtractedCsv[];
  /** Why each part left behind was not taken, prefixed with its name. */
  ignored: string[];
}

/** A zip in a mail in a zip…: deeper than this is not opened. */
const maxDepth = 4;

/** Inflated bytes waiting for a slow reader before the zip is read on. */
const queuedBytes = 1024 * 1024;

/** Deflate inflates up to ~1000-fold: the zip is fed in slices this small so one slice never inflates to too much. */
const zipSliceBytes = 4096;

export function fileForm(name: string, contentType: string): FileForm | undefined {
  const type = contentType.toLowerCase();
  if (/\.csv$/i.test(name) || /^(text|application)\/csv\b/.test(type)) return 'csv';
  if (/\.zip$/i.test(name) || /^application\/(x-)?zip(-compressed)?\b/.test(type)) return 'zip';
  if (/\.eml$/i.test(name) || isMessage(type)) return 'mail';
  return undefined;
}

export const notCollectable = 'not a CSV file, a zip or an email';

export function tooLarge(size: number | undefined, limit: number): string {
  return `${size === undefined ? '' : `${size} bytes, `}over maxAttachmentBytes (${limit})`;
}

/**
 * The CSVs in `chunks`. An error of the transfer itself is thrown (so the download can be
 * tried again); a part that is too large or unreadable is reported in `ignored`.
 */
export async function extract(
  chunks: AsyncIterable<Uint8Array>,
  form: FileForm,
  name: string,
  spooler: Spooler,
  depth = 0,
): Promise<Extraction> {
  if (depth > maxDepth) {
    for await (const _ of chunks);
    return { csvs: [], ignored: [`${name}: nested more than ${maxDepth} deep`] };
  }
  try {
    if (form === 'csv') return { csvs: [{ name, file: await spooler.spool(chunks) }], ignored: [] };
    if (form === 'zip') return await extractZip(chunks, name, spooler, depth);
    return await extractMail(chunks, name, spooler, depth);
  } catch (error) {
    if (error instanceof TooLargeError)
      return { csvs: [], ignored: [`${name}: ${tooLarge(undefined, spooler.limit)}`] };
    if (error instanceof UnreadableError) return { csvs: [], ignored: [`${name}: cannot be read (${error.message})`] };
    throw error;
  }
}

/** The entries of a zip as it streams (fflate's `Unzip`), each to its own extraction. */
async function extractZip(
  chunks: AsyncIterable<Uint8Array>,
  name: string,
  spooler: Spooler,
  depth: number,
): Promise<Extraction> {
  const entries: Promise<Extraction>[] = [];
  const open = new Set<ChunkQueue>();
  const unzip = new Unzip((entry) => {
    const entryName = `${name}/${entry.name}`;
    const form = entry.name.endsWith('/') ? undefined : fileForm(entry.name, '');
    if (!form) {
      // Started and discarded: fflate buffers an entry never started.
      entry.ondata = () => undefined;
      if (!entry.name.endsWith('/'))
        entries.push(Promise.resolve({ csvs: [], ignored: [`${entryName}: ${notCollectable}`] }));
    } else {
      const queue = new ChunkQueue();
      open.add(queue);
      entry.ondata = (error, data, final) => {
        if (error) queue.fail(new UnreadableError(error.message));
        else queue.push(data);
        if (error || final) {
          queue.end();
          open.delete(queue);
        }
      };
      const extraction = extract(queue, form, entryName, spooler, depth + 1).then((found) => ({
        ...found,
        csvs: found.csvs.map((csv) => ({ archive: name, ...csv })),
      }));
      // Its failure is taken up once the whole zip is read; until then it must not count as unhandled.
      extraction.catch(() => undefined);
      entries.push(extraction);
    }
    entry.start();
  });
  unzip.register(UnzipInflate);

  try {
    let read = 0;
    for await (const chunk of chunks) {
      read += chunk.byteLength;
      for (let offset = 0; offset < chunk.byteLength; offset += zipSliceBytes) {
        pushTo(unzip, chunk.subarray(offset, offset + zipSliceBytes), false);
        await Promise.all([...open].map((queue) => queue.drained()));
      }
    }
    pushTo(unzip, new Uint8Array(0), true);
    if (read > 0 && entries.length === 0) throw new UnreadableError('not a zip archive, or an empty one');
    for (const queue of open) queue.fail(new UnreadableError('the archive ends in the middle of this file'));
  } catch (error) {
    for (const queue of open) queue.fail(error);
    await discard((await Promise.allSettled(entries)).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])));
    throw error;
  }
  return combine(entries);
}

function pushTo(unzip: Unzip, chunk: Uint8Array, final: boolean): void {
  try {
    unzip.push(chunk, final);
  } catch (error) {
    throw new UnreadableError((error as Error).message);
  }
}

/** The CSVs attached to an email, dated by its Date unless an email attached deeper dated them. */
async function extractMail(
  chunks: AsyncIterable<Uint8Array>,
  name: string,
  spooler: Spooler,
  depth: number,
): Promise<Extraction> {
  const found: Extraction[] = [];
  let headers: MimeHeaders;
  try {
    headers = await readMime(chunks, async (part) => {
      const inner = `${name}/${partName(part)}`;
      const form = fileForm(part.name ?? '', part.contentType);
      if (form) found.push(await extract(part.content, form, inner, spooler, depth + 1));
      else if (!part.inline) found.push({ csvs: [], ignored: [`${inner}: ${notCollectable}`] });
    });
  } catch (error) {
    await discard(found);
    throw error;
  }
  const sentAt = headers.date?.toISOString();
  return {
    csvs: found.flatMap((f) => f.csvs).map((csv) => ({ ...(sentAt ? { sentAt } : {}), ...csv })),
    ignored: found.flatMap((f) => f.ignored),
  };
}

/** A zip that cannot be read as one. */
class UnreadableError extends Error {
  override name = 'UnreadableError';
}

/**
 * Bytes pushed synchronously (fflate calls back while inflating) and read asynchronously:
 * the zip is read on once every reader has taken what it was given.
 */
class ChunkQueue implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private ended = false;
  private error: unknown;
  /** The reader stopped (too large, unreadable): further bytes are dropped. */
  private abandoned = false;
  private wake: (() => void) | undefined;
  private emptied: (() => void) | undefined;

  push(chunk: Uint8Array): void {
    if (this.abandoned || this.ended || chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.byteLength;
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.error = error;
    this.end();
  }

  /** Resolves once the reader has taken most of what was pushed, or stopped reading. */
  drained(): Promise<void> {
    if (this.abandoned || this.bytes <= queuedBytes) return Promise.resolve();
    return new Promise((resolve) => {
      this.emptied = resolve;
    });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const chunk = this.chunks.shift();
        if (chunk) {
          this.bytes -= chunk.byteLength;
          if (this.bytes <= queuedBytes) this.release();
          yield chunk;
        } else if (this.ended) {
          if (this.error !== undefined) throw this.error;
          return;
        } else {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
        }
      }
    } finally {
      this.abandoned = true;
      this.chunks = [];
      this.bytes = 0;
      this.release();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private release(): void {
    const emptied = this.emptied;
    this.emptied = undefined;
    emptied?.();
  }
}

/** Every part's CSVs and reasons; if one part failed, the others' spooled files are removed and its error thrown. */
async function combine(parts: Promise<Extraction>[]): Promise<Extraction> {
  const results = await Promise.allSettled(parts);
  const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) {
    await discard(done);
    throw failure.reason;
  }
  return { csvs: done.flatMap((d) => d.csvs), ignored: done.flatMap((d) => d.ignored) };
}

async function discard(extractions: Extraction[]): Promise<void> {
  for (const extraction of extractions) {
    for (const csv of extraction.csvs) await rm(csv.file.path, { force: true });
  }
}
