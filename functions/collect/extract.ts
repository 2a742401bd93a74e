import { rm } from 'node:fs/promises';
import { Unzip, UnzipInflate } from 'fflate';
import { CharlieError } from '../common/errors.ts';
import { isMessage, partName, readMime, UnreadableError } from './mime.ts';
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

/** The bounds on what the zips of one message may inflate to (configuration `mailbox`). */
export interface ZipLimits {
  maxInflatedBytes: number;
  maxZipEntries: number;
  maxInflateRatio: number;
}

/**
 * What extracting one message (or inbox file) shares: where CSVs are spooled, what is done
 * with each (it is removed from disk right after), and what its zips have inflated so far.
 */
export interface Extractor {
  spooler: Spooler;
  budget: InflateBudget;
  onCsv: (csv: ExtractedCsv) => Promise<void>;
}

/** The zips of one message, counted against the limits as they inflate. */
export class InflateBudget {
  private inflated = 0;
  private compressed = 0;
  private entries = 0;

  constructor(readonly limits: ZipLimits) {}

  snapshot(): { inflated: number; compressed: number; entries: number } {
    return { inflated: this.inflated, compressed: this.compressed, entries: this.entries };
  }

  /** Back to a snapshot: a download tried again counts from where it started. */
  restore(counts: { inflated: number; compressed: number; entries: number }): void {
    ({ inflated: this.inflated, compressed: this.compressed, entries: this.entries } = counts);
  }

  /** Counts what inflating took and gave; throws ZipLimitError at the first limit passed. */
  count(name: string, counts: { compressed?: number; inflated?: number; entries?: number }): void {
    this.compressed += counts.compressed ?? 0;
    this.inflated += counts.inflated ?? 0;
    this.entries += counts.entries ?? 0;
    const { maxInflatedBytes, maxZipEntries, maxInflateRatio } = this.limits;
    if (this.entries > maxZipEntries)
      throw new ZipLimitError(`${name}: more than maxZipEntries (${maxZipEntries}) entries`);
    if (this.inflated > maxInflatedBytes) {
      throw new ZipLimitError(`${name}: inflates past maxInflatedBytes (${maxInflatedBytes})`);
    }
    // Past the first few MiB, which any small zip may inflate to, inflating must stay within the ratio.
    if (this.inflated > ratioFloorBytes + maxInflateRatio * this.compressed) {
      throw new ZipLimitError(`${name}: inflates more than maxInflateRatio (${maxInflateRatio}) times its size`);
    }
  }
}

/** Inflated bytes allowed whatever the ratio: a small zip of padded CSVs compresses far beyond any sane ratio. */
const ratioFloorBytes = 16 * 1024 * 1024;

/** A zip past one of the limits: inflating stopped there. */
export class ZipLimitError extends CharlieError {
  override name = 'ZipLimitError';
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
 * Hands each CSV in `chunks` to the extractor as soon as it is spooled, and returns why each
 * other part was left behind. An error of the transfer itself is thrown (so the download can
 * be tried again), and so is UnreadableError (a zip or attached mail that cannot be read) and
 * ZipLimitError; a part that is too large is reported.
 */
export async function extract(
  chunks: AsyncIterable<Uint8Array>,
  form: FileForm,
  name: string,
  extractor: Extractor,
  found: Omit<ExtractedCsv, 'name' | 'file'> = {},
  depth = 0,
): Promise<string[]> {
  if (depth > maxDepth) {
    for await (const _ of chunks);
    return [`${name}: nested more than ${maxDepth} deep`];
  }
  try {
    if (form === 'zip') return await extractZip(chunks, name, extractor, found, depth);
    if (form === 'mail') return await extractMail(chunks, name, extractor, found, depth);
    const file = await extractor.spooler.spool(chunks);
    try {
      await extractor.onCsv({ ...found, name, file });
    } finally {
      await rm(file.path, { force: true });
    }
    return [];
  } catch (error) {
    if (error instanceof TooLargeError) return [`${name}: ${tooLarge(undefined, extractor.spooler.limit)}`];
    if (error instanceof UnreadableError && !error.message.startsWith(name)) {
      throw new UnreadableError(`${name}: cannot be read (${error.message})`);
    }
    throw error;
  }
}

/**
 * The entries of a zip as it streams (fflate's `Unzip`), extracted one after another: an
 * entry is spooled, stored and removed before the next one is read, so the disk holds one.
 */
async function extractZip(
  chunks: AsyncIterable<Uint8Array>,
  name: string,
  extractor: Extractor,
  found: Omit<ExtractedCsv, 'name' | 'file'>,
  depth: number,
): Promise<string[]> {
  const ignored: string[] = [];
  const open = new Set<ChunkQueue>();
  /** Entries and inflated bytes since the budget last counted them; entries of the whole zip. */
  let entries = 0;
  let inflated = 0;
  let entriesSeen = 0;
  let previous: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
    // Nothing reads the open entries any more: the zip is not read on.
    for (const queue of open) queue.abandon(error);
  };
  const unzip = new Unzip((entry) => {
    entries++;
    entriesSeen++;
    const entryName = `${name}/${entry.name}`;
    const form = entry.name.endsWith('/') ? undefined : fileForm(entry.name, '');
    if (!form) {
      // Started and discarded (fflate buffers an entry never started), its inflated bytes counted.
      entry.ondata = (_error, data) => {
        inflated += data?.byteLength ?? 0;
      };
      if (!entry.name.endsWith('/')) ignored.push(`${entryName}: ${notCollectable}`);
    } else {
      const queue = new ChunkQueue();
      open.add(queue);
      entry.ondata = (error, data, final) => {
        inflated += data?.byteLength ?? 0;
        if (error) queue.fail(new UnreadableError(`${entryName}: cannot be read (${error.message})`));
        else queue.push(data);
        if (error || final) {
          queue.end();
          open.delete(queue);
        }
      };
      const entryFound = { ...found, archive: name };
      previous = previous.then(async () => {
        if (failure) return;
        try {
          ignored.push(...(await extract(queue, form, entryName, extractor, entryFound, depth + 1)));
        } catch (error) {
          fail(error);
        }
      });
    }
    entry.start();
  });
  unzip.register(UnzipInflate);

  try {
    let read = 0;
    for await (const chunk of chunks) {
      read += chunk.byteLength;
      for (let offset = 0; offset < chunk.byteLength && !failure; offset += zipSliceBytes) {
        const slice = chunk.subarray(offset, offset + zipSliceBytes);
        pushTo(unzip, slice, false);
        extractor.budget.count(name, { compressed: slice.byteLength, inflated, entries });
        inflated = 0;
        entries = 0;
        await Promise.all([...open].map((queue) => queue.drained()));
      }
      if (failure) break;
    }
    if (!failure) {
      pushTo(unzip, new Uint8Array(0), true);
      extractor.budget.count(name, { inflated, entries });
      if (read > 0 && entriesSeen === 0) {
        throw new UnreadableError(`${name}: cannot be read (not a zip archive, or an empty one)`);
      }
      for (const queue of open) queue.fail(new UnreadableError(`${name}: the archive ends in the middle of a file`));
    }
  } catch (error) {
    fail(error);
  }
  await previous;
  if (failure) throw failure.error;
  return ignored;
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
  extractor: Extractor,
  found: Omit<ExtractedCsv, 'name' | 'file'>,
  depth: number,
): Promise<string[]> {
  const ignored: string[] = [];
  await readMime(chunks, async (part, headers) => {
    const inner = `${name}/${partName(part)}`;
    const form = fileForm(part.name ?? '', part.contentType);
    const sentAt = headers.date?.toISOString() ?? found.sentAt;
    if (form)
      ignored.push(
        ...(await extract(
          part.content,
          form,
          inner,
          extractor,
          { ...found, ...(sentAt ? { sentAt } : {}) },
          depth + 1,
        )),
      );
    else if (!part.inline) ignored.push(`${inner}: ${notCollectable}`);
  });
  return ignored;
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

  /** Nothing more will be taken: a reader fails with the error, and the zip need not wait for one. */
  abandon(error: unknown): void {
    this.fail(error);
    this.drop();
  }

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
      this.drop();
    }
  }

  /** What is pushed from now on is dropped. */
  private drop(): void {
    this.abandoned = true;
    this.chunks = [];
    this.bytes = 0;
    this.release();
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
