/**
 * Reading MIME as it streams: saved `.eml` files, and attached mail (Graph serves an item
 * attachment as the MIME of the attached message). Attachments pass through one at a time,
 * decoded (base64, quoted-printable) as they are read, so a message is never held whole.
 * An attached message (`message/rfc822`) is handed over as one part, as Exchange keeps it one
 * item attachment; collect then opens it with its own Date.
 *
 * A message that cannot be read — cut off, a multipart without a boundary, not MIME at all, or
 * past the reader's bounds on nesting, parts and header size — throws UnreadableError with the
 * reason. The bounds keep the reader's memory and time linear in the message.
 */

import { CharlieError } from '../common/errors.ts';

/** Multiparts within multiparts: mail clients nest three or four deep. */
export const maxMultipartDepth = 20;

/** Parts of one message, text and attachments alike: room for thousands of attachments. */
export const maxParts = 5_000;

/** The header block of the message or of one part. */
export const maxHeaderBytes = 64 * 1024;

/** Why a message cannot be read; the reason names what is wrong with it. */
export class UnreadableError extends CharlieError {
  override name = 'UnreadableError';
}

export interface MimeHeaders {
  messageId: string | undefined;
  subject: string | undefined;
  /** Lower-case sender address. */
  from: string | undefined;
  /** The Date header: when the message was sent. */
  date: Date | undefined;
  /** The newest Received header: when the last hop took it. */
  received: Date | undefined;
}

export interface MimePart {
  /** The part's file name, if it has one. */
  name: string | undefined;
  contentType: string;
  /** As Exchange sets `isInline`: images shown in the body, such as signatures and banners. */
  inline: boolean;
  content: AsyncIterable<Uint8Array>;
}

/**
 * Reads a message, handing each attachment to `onPart` in order, with the message's headers;
 * a part `onPart` does not read (or reads only in part) is skipped. Returns the headers.
 */
export async function readMime(
  chunks: AsyncIterable<Uint8Array>,
  onPart: (part: MimePart, headers: MimeHeaders) => Promise<void>,
): Promise<MimeHeaders> {
  const lines = new LineReader(chunks);
  try {
    const fields = await readMessageFields(lines);
    const headers = mimeHeaders(fields);
    const reader: EntityReader = { lines, boundaries: [], parts: 0, onPart: (part) => onPart(part, headers) };
    const end = await readEntity(reader, fields);
    // The input ended inside a multipart, before its closing boundary: the message was cut off.
    if (end === 'truncated') throw new UnreadableError('the message is cut off before its last part ends');
    return headers;
  } finally {
    await lines.close();
  }
}

/** Reads only as far as the end of a message's headers; undefined if there are none. */
export async function readMimeHeaders(chunks: AsyncIterable<Uint8Array>): Promise<MimeHeaders | undefined> {
  const lines = new LineReader(chunks);
  try {
    const fields = await readMessageFields(lines);
    return fields.length === 0 ? undefined : mimeHeaders(fields);
  } finally {
    await lines.close();
  }
}

/** A message's own header fields: input with lines before its blank line but no header field is not a message. */
async function readMessageFields(lines: LineReader): Promise<HeaderField[]> {
  const first = await lines.peekText();
  const fields = await readFields(lines);
  if (fields.length === 0 && first !== undefined && first.length > 0) {
    throw new UnreadableError('not a MIME message: no header fields');
  }
  return fields;
}

/** A part's file name, or what stands for it: an attached message often has none. */
export function partName(part: Pick<MimePart, 'name' | 'contentType'>): string {
  return part.name ?? (isMessage(part.contentType) ? 'message.eml' : 'unnamed');
}

export function isMessage(contentType: string): boolean {
  return contentType.toLowerCase().startsWith('message/rfc822');
}

/** Exchange marks images referenced from the body inline; any other part is an attachment proper. */
export function isInlinePart(contentType: string, disposition: string | undefined, contentId: string | undefined) {
  return contentType.toLowerCase().startsWith('image/') && (disposition === 'inline' || contentId !== undefined);
}

/** One header field, unfolded, its name in lower case. */
export interface HeaderField {
  name: string;
  value: string;
}

/** The headers collect reads, from a message's header fields. */
export function mimeHeaders(fields: readonly HeaderField[]): MimeHeaders {
  const first = (name: string) => fields.find((field) => field.name === name)?.value;
  const date = parseDate(first('date'));
  const subject = first('subject');
  const messageId = first('message-id')?.trim();
  return {
    messageId: messageId || undefined,
    subject: subject === undefined ? undefined : decodeWords(subject).trim(),
    from: senderAddress(first('from')),
    date,
    // Each hop adds a Received header on top: the first one tells when the mailbox got the message.
    received: parseDate(first('received')?.split(';').pop()),
  };
}

/** Reads header fields up to the blank line that ends them (or the end of the input), at most maxHeaderBytes. */
export async function readFields(lines: LineReader): Promise<HeaderField[]> {
  const raw: string[] = [];
  let bytes = 0;
  for (let line = await lines.next(); line; line = await lines.next()) {
    if (line.text.length === 0 && line.atStart) break;
    bytes += line.text.length + line.lineBreak.length;
    if (bytes > maxHeaderBytes) throw new UnreadableError(`a header block is over ${maxHeaderBytes} bytes`);
    const text = headerText(line.text);
    if (!line.atStart || (/^[ \t]/.test(text) && raw.length > 0)) raw[raw.length - 1] += text;
    else raw.push(text);
  }
  const fields: HeaderField[] = [];
  for (const text of raw) {
    const colon = text.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: text.slice(0, colon).trim().toLowerCase(), value: text.slice(colon + 1).trim() });
  }
  return fields;
}

/** How a part ended: at a boundary line (which one, and whether it closed its multipart), or at the end of the input. */
interface Delimiter {
  boundary: string;
  closing: boolean;
}

/** Where the reader is in a message: the open multiparts' boundaries (innermost last) and the parts read so far. */
interface EntityReader {
  lines: LineReader;
  boundaries: string[];
  parts: number;
  onPart: (part: MimePart) => Promise<void>;
}

/** How an entity ended: at a boundary line, at the end of a message that was complete, or cut off. */
type EntityEnd = Delimiter | 'end' | 'truncated';

async function readEntity(reader: EntityReader, fields: HeaderField[]): Promise<EntityEnd> {
  if (++reader.parts > maxParts) throw new UnreadableError(`more than ${maxParts} parts`);
  const type = parseParameters(fieldValue(fields, 'content-type') ?? 'text/plain');
  const mime = type.value.toLowerCase() || 'text/plain';
  if (mime.startsWith('multipart/')) {
    const boundary = type.params.boundary;
    if (!boundary) throw new UnreadableError(`a ${mime} part has no boundary`);
    return readMultipart(reader, boundary);
  }

  const disposition = parseParameters(fieldValue(fields, 'content-disposition') ?? '');
  const dispositionType = disposition.value.toLowerCase() || undefined;
  const textBody = (mime === 'text/plain' || mime === 'text/html') && dispositionType !== 'attachment';
  if (textBody) return endOf(reader, await skipTo(reader.lines, reader.boundaries));

  const body = new PartBody(
    reader.lines,
    reader.boundaries,
    transferDecoder(fieldValue(fields, 'content-transfer-encoding')),
  );
  await reader.onPart({
    name: disposition.params.filename ?? type.params.name,
    contentType: mime,
    inline: isInlinePart(mime, dispositionType, fieldValue(fields, 'content-id')),
    content: body,
  });
  return endOf(reader, await body.skipRest());
}

/** Reads a multipart's parts; the boundaries stack is shared, so nesting costs no copies. */
async function readMultipart(reader: EntityReader, boundary: string): Promise<EntityEnd> {
  const { lines, boundaries } = reader;
  if (boundaries.length >= maxMultipartDepth) {
    throw new UnreadableError(`multiparts nested more than ${maxMultipartDepth} deep`);
  }
  boundaries.push(boundary);
  let end: EntityEnd;
  try {
    end = endOf(reader, await skipTo(lines, boundaries));
    while (typeof end === 'object' && end.boundary === boundary && !end.closing) {
      end = await readEntity(reader, await readFields(lines));
    }
  } finally {
    boundaries.pop();
  }
  // After the closing boundary comes an epilogue, skipped up to the enclosing boundary.
  if (typeof end === 'object' && end.boundary === boundary) return endOf(reader, await skipTo(lines, boundaries));
  return end;
}

/** The end of the input inside a multipart cuts it off; outside any, it ends the message. */
function endOf(reader: EntityReader, delimiter: Delimiter | undefined): EntityEnd {
  if (delimiter) return delimiter;
  return reader.boundaries.length > 0 ? 'truncated' : 'end';
}

/** Skips lines up to one of the boundaries (innermost first) or the end of the input. */
async function skipTo(lines: LineReader, boundaries: readonly string[]): Promise<Delimiter | undefined> {
  for (let line = await lines.next(); line; line = await lines.next()) {
    const delimiter = delimiterOf(line, boundaries);
    if (delimiter) return delimiter;
  }
  return undefined;
}

function delimiterOf(line: Line, boundaries: readonly string[]): Delimiter | undefined {
  if (!line.atStart || line.text.length < 3 || line.text[0] !== 0x2d || line.text[1] !== 0x2d) return undefined;
  const text = line.text.toString('latin1').trimEnd();
  for (let i = boundaries.length - 1; i >= 0; i--) {
    const boundary = boundaries[i] as string;
    if (text === `--${boundary}`) return { boundary, closing: false };
    if (text === `--${boundary}--`) return { boundary, closing: true };
  }
  return undefined;
}

/**
 * A part's decoded bytes, read from the message as they are asked for. The line break before
 * a boundary belongs to the boundary, so each line's break is held back until the next line
 * shows the part goes on.
 */
class PartBody implements AsyncIterable<Uint8Array> {
  private delimiter: Delimiter | undefined;
  private ended = false;
  private heldBreak: Buffer = Buffer.alloc(0);

  constructor(
    private readonly lines: LineReader,
    private readonly boundaries: readonly string[],
    private readonly decoder: TransferDecoder,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const pending: Buffer[] = [];
    let size = 0;
    while (!this.ended) {
      const line = await this.lines.next();
      if (!line) {
        this.ended = true;
        // Inside a multipart, the input ends before the part's boundary: the message was cut off.
        if (this.boundaries.length > 0)
          throw new UnreadableError('the message is cut off in the middle of an attachment');
        break;
      }
      const delimiter = delimiterOf(line, this.boundaries);
      if (delimiter) {
        this.delimiter = delimiter;
        this.ended = true;
        break;
      }
      for (const bytes of this.decoder.line(line.atStart ? this.heldBreak : Buffer.alloc(0), line.text)) {
        pending.push(bytes);
        size += bytes.byteLength;
      }
      this.heldBreak = line.lineBreak;
      if (size >= yieldBytes) {
        yield Buffer.concat(pending.splice(0), size);
        size = 0;
      }
    }
    for (const bytes of this.decoder.end()) {
      pending.push(bytes);
      size += bytes.byteLength;
    }
    if (size > 0) yield Buffer.concat(pending, size);
  }

  /** Skips what the reader left of the part; returns how the part ended. */
  async skipRest(): Promise<Delimiter | undefined> {
    if (!this.ended) {
      this.ended = true;
      this.delimiter = await skipTo(this.lines, this.boundaries);
    }
    return this.delimiter;
  }
}

/** Decoded bytes are handed on in pieces of about this size. */
const yieldBytes = 64 * 1024;

interface TransferDecoder {
  /** A line of the part (without its break), and the break of the line before it, if any. */
  line(previousBreak: Buffer, text: Buffer): Buffer[];
  end(): Buffer[];
}

function transferDecoder(encoding: string | undefined): TransferDecoder {
  switch (encoding?.trim().toLowerCase()) {
    case 'base64':
      return base64Decoder();
    case 'quoted-printable':
      return quotedPrintableDecoder();
    default:
      return { line: (previousBreak, text) => [previousBreak, text], end: () => [] };
  }
}

function base64Decoder(): TransferDecoder {
  let carry = '';
  return {
    line(_previousBreak, text) {
      const chars = carry + text.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, '');
      const whole = chars.length - (chars.length % 4);
      carry = chars.slice(whole);
      return whole > 0 ? [Buffer.from(chars.slice(0, whole), 'base64')] : [];
    },
    end: () => (carry.length > 0 ? [Buffer.from(carry, 'base64')] : []),
  };
}

/** A line ending in `=` is a soft break: it joins the next line without a line break. */
function quotedPrintableDecoder(): TransferDecoder {
  let soft = false;
  return {
    line(previousBreak, text) {
      const out: Buffer[] = soft ? [] : [previousBreak];
      let line = text.toString('latin1').replace(/[ \t]+$/, '');
      soft = line.endsWith('=');
      if (soft) line = line.slice(0, -1);
      out.push(decodeQuotedPrintable(line));
      return out;
    },
    end: () => [],
  };
}

function decodeQuotedPrintable(text: string): Buffer {
  const bytes = Buffer.alloc(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === 0x3d && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes[length++] = Number.parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      bytes[length++] = char;
    }
  }
  return bytes.subarray(0, length);
}

/** A line of the input: its bytes without the break, the break, and whether it starts a line (long lines come in pieces). */
interface Line {
  text: Buffer;
  lineBreak: Buffer;
  atStart: boolean;
}

/** Lines longer than this come in pieces, so that memory stays bounded whatever the input. */
const maxLineBytes = 64 * 1024;

const noBytes = Buffer.alloc(0);

/** The input as lines, read as they are asked for. */
export class LineReader {
  private readonly source: AsyncIterator<Uint8Array>;
  private buffer: Buffer = noBytes;
  private done = false;
  private atStart = true;
  private peeked: { line: Line | undefined } | undefined;

  constructor(chunks: AsyncIterable<Uint8Array>) {
    this.source = chunks[Symbol.asyncIterator]();
  }

  /** The next line's text, as Latin-1, left to be read. */
  async peekText(): Promise<string | undefined> {
    this.peeked ??= { line: await this.read() };
    return this.peeked.line?.text.toString('latin1');
  }

  async next(): Promise<Line | undefined> {
    const peeked = this.peeked;
    if (peeked) {
      this.peeked = undefined;
      return peeked.line;
    }
    return this.read();
  }

  private async read(): Promise<Line | undefined> {
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline >= 0 && newline <= maxLineBytes) {
        const breakStart = newline > 0 && this.buffer[newline - 1] === 0x0d ? newline - 1 : newline;
        return this.take(newline + 1, breakStart, true);
      }
      if (this.buffer.length > maxLineBytes) return this.take(maxLineBytes, maxLineBytes, false);
      if (this.done) {
        if (this.buffer.length === 0) return undefined;
        return this.take(this.buffer.length, this.buffer.length, true);
      }
      const next = await this.source.next();
      if (next.done) this.done = true;
      else if (next.value.byteLength > 0) {
        const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
        this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      }
    }
  }

  /** Stops reading the input (an early return releases the source's stream). */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.source.return?.();
    }
  }

  private take(end: number, breakStart: number, complete: boolean): Line {
    const line: Line = {
      text: this.buffer.subarray(0, breakStart),
      lineBreak: this.buffer.subarray(breakStart, end),
      atStart: this.atStart,
    };
    this.atStart = complete;
    this.buffer = this.buffer.subarray(end);
    return line;
  }
}

/** Header bytes as text: UTF-8 when they are (raw UTF-8 headers), else Latin-1. */
function headerText(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fieldValue(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find((field) => field.name === name)?.value;
}

/** A structured value (`text/csv; name="a.csv"`): its value and its parameters, RFC 2231 and RFC 2047 decoded. */
function parseParameters(text: string): { value: string; params: Record<string, string> } {
  const [value = '', ...rest] = splitOutsideQuotes(text, ';');
  const sections = new Map<string, { index: number; extended: boolean; text: string }[]>();
  for (const piece of rest) {
    const equals = piece.indexOf('=');
    if (equals <= 0) continue;
    const key = piece.slice(0, equals).trim().toLowerCase();
    let raw = piece.slice(equals + 1).trim();
    if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2) raw = raw.slice(1, -1).replace(/\\(.)/g, '$1');
    const match = /^([^*]+)(?:\*(\d+))?(\*)?$/.exec(key);
    if (!match) continue;
    const name = match[1] as string;
    const list = sections.get(name) ?? [];
    list.push({ index: Number(match[2] ?? 0), extended: match[3] === '*', text: raw });
    sections.set(name, list);
  }
  const params: Record<string, string> = {};
  for (const [name, list] of sections) {
    list.sort((a, b) => a.index - b.index);
    if (!list.some((section) => section.extended)) {
      params[name] = decodeWords(list.map((section) => section.text).join(''));
      continue;
    }
    // RFC 2231: charset'language'percent-encoded bytes, continued over numbered sections.
    let charset = 'utf-8';
    const bytes: Buffer[] = [];
    list.forEach((section, i) => {
      let text = section.text;
      if (i === 0 && section.extended) {
        const parts = text.split("'");
        if (parts.length >= 3) {
          charset = parts[0] || 'utf-8';
          text = parts.slice(2).join("'");
        }
      }
      bytes.push(section.extended ? percentDecode(text) : Buffer.from(text, 'latin1'));
    });
    params[name] = decodeCharset(Buffer.concat(bytes), charset);
  }
  return { value: value.trim(), params };
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '\\' && quoted) {
      current += char + (text[i + 1] ?? '');
      i++;
    } else if (char === '"') {
      quoted = !quoted;
      current += char;
    } else if (char === separator && !quoted) {
      pieces.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  pieces.push(current);
  return pieces;
}

function percentDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047 encoded words (`=?utf-8?B?…?=`); the space between two of them is not text. */
export function decodeWords(text: string): string {
  return text
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)/g, '$1')
    .replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (_word, charset: string, encoding: string, data: string) => {
      const bytes =
        encoding.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : decodeQuotedPrintable(data.replace(/_/g, ' '));
      return decodeCharset(bytes, charset.split('*')[0] as string);
    });
}

function decodeCharset(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset.trim().toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

function parseDate(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const time = Date.parse(text.replace(/\([^)]*\)/g, ' ').trim());
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** The first address of a From header, lower case. */
function senderAddress(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const decoded = decodeWords(text);
  const angled = /<([^<>\s]+@[^<>\s]+)>/.exec(decoded);
  const address = angled?.[1] ?? /[^\s<>",;:()]+@[^\s<>",;:()]+/.exec(decoded)?.[0];
  return address?.toLowerCase();
}
