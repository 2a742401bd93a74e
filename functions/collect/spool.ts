import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CharlieError } from '../common/errors.ts';

/** Messages collect reads at once; each spools one file at a time (zip entries are stored and removed one by one). */
export const messageConcurrency = 8;

/**
 * The local disk collect needs, in MiB (Lambda's ephemeral storage, 512–10,240): one spooled
 * attachment per message read at once, and 512 MiB for the runtime's own use.
 */
export function scratchMebibytes(maxAttachmentBytes: number): number {
  const spooled = Math.ceil((messageConcurrency * maxAttachmentBytes) / 2 ** 20);
  return Math.min(10_240, Math.max(1_024, spooled + 512));
}

/** Bytes kept from the start of a file, to read its header line. */
const headBytes = 64 * 1024;

/** A file spooled to local disk with its digest. */
export interface SpooledFile {
  path: string;
  sha256: string;
  bytes: number;
  head: Uint8Array;
}

export class TooLargeError extends CharlieError {
  override name = 'TooLargeError';
}

/**
 * Temp files in one directory, each hashed as it is written and capped at `limit` bytes:
 * an attachment is never held whole in memory, and its content address is known once written.
 */
export class Spooler {
  private count = 0;

  constructor(
    private readonly dir: string,
    readonly limit: number,
  ) {}

  /** Writes the chunks to a new temp file; past the limit, removes it and throws TooLargeError. */
  async spool(chunks: AsyncIterable<Uint8Array>): Promise<SpooledFile> {
    const path = join(this.dir, `${++this.count}.part`);
    const { limit } = this;
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
    try {
      await pipeline(Readable.from(measured()), createWriteStream(path));
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return { path, sha256: hash.digest('hex'), bytes, head: Buffer.concat(head) };
  }
}
