/**
 * Text encodings of exports saved by Windows tooling: UTF-8 with or without BOM,
 * UTF-16 with BOM (Excel's "Unicode text"), and Windows-1252 when bytes are not UTF-8.
 */

export type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

/** The encoding a byte-order mark announces, and the mark's length. */
export function encodingFromBom(head: Uint8Array): { encoding: Encoding; bomLength: number } | undefined {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bomLength: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bomLength: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bomLength: 2 };
  return undefined;
}

/** Whether a whole byte stream is valid UTF-8, read chunk by chunk. */
export async function isUtf8(chunks: AsyncIterable<Uint8Array>): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of chunks) decoder.decode(chunk, { stream: true });
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

/**
 * Bytes decoded at a time, whatever size the stream's chunks are. From a megabyte up,
 * TextDecoder returns external strings (two-byte ones for non-ASCII text from two megabytes,
 * even when every character is Latin-1), slower to cut and to hash; and all the records of
 * a piece are in memory at once.
 */
const maxDecodedBytes = 1 << 16;

/** Decodes a byte stream to text chunks of at most `maxDecodedBytes` bytes each, dropping a byte-order mark. */
export async function* decodeChunks(chunks: AsyncIterable<Uint8Array>, encoding: Encoding): AsyncGenerator<string> {
  // TextDecoder drops a BOM matching its encoding by default.
  const decoder = new TextDecoder(encoding);
  for await (const chunk of chunks) {
    for (let start = 0; start < chunk.length; start += maxDecodedBytes) {
      const text = decoder.decode(chunk.subarray(start, start + maxDecodedBytes), { stream: true });
      if (text) yield text;
    }
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}
