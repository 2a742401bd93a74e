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

/** What a byte stream holds as UTF-8: its valid multi-byte sequences, and its invalid bytes. */
export interface Utf8Scan {
  valid: number;
  /** Bytes, or cut-short sequences, that are not UTF-8: each one a U+FFFD when decoded. */
  invalid: number;
}

/**
 * Counts a byte stream's valid multi-byte UTF-8 sequences and its invalid bytes, chunk by
 * chunk (a sequence may straddle chunks), as the WHATWG decoder reads them: a sequence cut
 * short counts once, and the byte that cut it starts anew.
 */
export async function scanUtf8(chunks: AsyncIterable<Uint8Array>): Promise<Utf8Scan> {
  let valid = 0;
  let invalid = 0;
  let needed = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (needed === 0) {
        if (byte < 0x80) continue;
        if (byte >= 0xc2 && byte <= 0xdf) needed = 1;
        else if (byte >= 0xe0 && byte <= 0xef) {
          needed = 2;
          if (byte === 0xe0) lower = 0xa0;
          else if (byte === 0xed) upper = 0x9f;
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          needed = 3;
          if (byte === 0xf0) lower = 0x90;
          else if (byte === 0xf4) upper = 0x8f;
        } else invalid++;
        continue;
      }
      if (byte < lower || byte > upper) {
        invalid++;
        needed = 0;
        lower = 0x80;
        upper = 0xbf;
        i--;
        continue;
      }
      lower = 0x80;
      upper = 0xbf;
      needed--;
      if (needed === 0) valid++;
    }
  }
  if (needed > 0) invalid++;
  return { valid, invalid };
}

/**
 * Whether bytes without a byte-order mark are read as UTF-8: when they have no invalid byte,
 * or more valid multi-byte sequences than invalid bytes (a UTF-8 file with a few stray
 * bytes, whose rows holding them are rejected). Windows-1252 text has next to no valid
 * multi-byte sequence (a letter from À to ß followed by a symbol from € to ¿), so a file
 * written in it throughout is read as Windows-1252.
 */
export function readsAsUtf8(scan: Utf8Scan): boolean {
  return scan.invalid === 0 || scan.valid > scan.invalid;
}

/** U+FFFD: what the decoder puts for an invalid byte. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

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
