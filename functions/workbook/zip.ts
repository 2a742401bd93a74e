import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { crc32, createDeflateRaw, type DeflateRaw } from 'node:zlib';
import { Zip, type ZipInputFile } from 'fflate';

/**
 * A ZIP archive streamed to `output`, one entry at a time. fflate lays out the archive
 * (local headers, data descriptors, central directory); each entry is deflated by Node's
 * zlib, which runs native code on the thread pool and is several times faster than
 * deflating in JavaScript. Writes report when the deflater or the output is full, so the
 * caller waits for them to drain and memory stays bounded whatever the size of the file.
 */
export class ZipWriter {
  private readonly zip: Zip;
  private error: Error | undefined;
  private outputFull: Promise<void> | undefined;
  private current: ZipEntry | undefined;

  constructor(
    private readonly output: Writable,
    private readonly options: { level: number; modified: Date },
  ) {
    output.on('error', (error) => this.fail(error));
    this.zip = new Zip((error, chunk, final) => {
      if (error) {
        this.fail(error);
        return;
      }
      if (!output.write(chunk) && !this.outputFull) {
        this.outputFull = writable(output).then(() => {
          this.outputFull = undefined;
        });
      }
      if (final) output.end();
    });
  }

  /** Starts the next entry; the previous one must have ended. */
  entry(name: string): ZipEntry {
    if (this.current && !this.current.ended) throw new Error(`ZIP entry ${this.current.name} has not ended`);
    this.check();
    this.current = new ZipEntry(this, name, this.options);
    this.zip.add(this.current.file);
    return this.current;
  }

  /** Writes a whole entry. */
  async add(name: string, content: string): Promise<void> {
    const entry = this.entry(name);
    await entry.write(Buffer.from(content, 'utf8'));
    await entry.end();
  }

  /** Writes the central directory and waits until the output has every byte. */
  async end(): Promise<void> {
    this.check();
    this.zip.end();
    await finished(this.output);
    this.check();
  }

  /** Stops on failure: the entry's deflater is released; the caller destroys the output. */
  abort(): void {
    this.current?.abort();
  }

  /** Settles when the output can take more (or has failed). */
  drained(): Promise<void> | undefined {
    return this.outputFull;
  }

  fail(error: Error): void {
    this.error ??= error;
  }

  check(): void {
    if (this.error) throw this.error;
  }
}

const maxQueuedBytes = 1 << 20;

export class ZipEntry {
  readonly file: ZipInputFile;
  ended = false;
  private readonly deflate: DeflateRaw;

  constructor(
    private readonly zip: ZipWriter,
    readonly name: string,
    options: { level: number; modified: Date },
  ) {
    this.file = { filename: name, size: 0, crc: 0, compression: 8, mtime: options.modified };
    this.deflate = createDeflateRaw({ level: options.level, chunkSize: 64 * 1024 });
    this.deflate.on('data', (chunk: Buffer) => this.file.ondata?.(null, new Uint8Array(chunk), false));
    this.deflate.on('error', (error) => zip.fail(error));
  }

  /** Adds bytes; returns a promise when the deflater or the output must drain first. */
  write(data: Uint8Array): Promise<void> | undefined {
    this.file.crc = crc32(data, this.file.crc);
    this.file.size += data.length;
    this.deflate.write(data);
    // A few chunks may queue, so the JavaScript thread builds the next one while zlib deflates.
    const deflaterFull = this.deflate.writableLength > maxQueuedBytes;
    const outputFull = this.zip.drained();
    if (!deflaterFull && !outputFull) return undefined;
    return Promise.all([deflaterFull ? writable(this.deflate) : undefined, outputFull]).then(() => this.zip.check());
  }

  async end(): Promise<void> {
    this.deflate.end();
    await finished(this.deflate);
    this.zip.check();
    this.ended = true;
    // The data descriptor (CRC and sizes) follows the last chunk.
    this.file.ondata?.(null, new Uint8Array(0), true);
    await this.zip.drained();
    this.zip.check();
  }

  abort(): void {
    this.deflate.destroy();
  }
}

/** Settles when a stream drains, or closes (after an error, say): the caller then checks for the error. */
function writable(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
