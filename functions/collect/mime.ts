import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  AddressObject,
  AttachmentStream,
  HeaderLines,
  Headers,
  MailParser,
  MailParserOptions,
  MessageText,
} from 'mailparser';

/**
 * Reading MIME as it streams: saved `.eml` files, and attached mail (Graph serves an item
 * attachment as the MIME of the attached message). Attachments pass through one at a time.
 */

/**
 * `ignoreEmbedded` (a mailsplit option MailParser passes on) keeps an attached message as one
 * `message/rfc822` part, as Exchange keeps it one item attachment, instead of spilling its
 * parts into the outer message; collect then opens it with its own Date.
 */
export const mimeParserOptions: MailParserOptions & { ignoreEmbedded: boolean } = {
  ignoreEmbedded: true,
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipImageLinks: true,
  skipTextLinks: true,
};

/**
 * Loaded when a message is first read: most runs read no MIME at all, and the parser with its
 * character sets would otherwise take a good part of every cold start.
 */
async function mailParser(): Promise<MailParser> {
  const { MailParser } = await import('mailparser');
  return new MailParser(mimeParserOptions);
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
 * Reads a message, handing each attachment to `onPart` in order; a part `onPart` does not
 * read is skipped. Returns the message's headers.
 */
export async function readMime(
  chunks: AsyncIterable<Uint8Array>,
  onPart: (part: MimePart) => Promise<void>,
): Promise<MimeHeaders> {
  const parser = await mailParser();
  let headers: MimeHeaders | undefined;
  let headerMap: Headers | undefined;
  parser.once('headers', (map: Headers) => {
    headerMap = map;
  });
  parser.once('headerLines', (lines: HeaderLines) => {
    headers = mimeHeaders(headerMap ?? new Map(), lines);
  });
  let sourceFailure: unknown;
  const source = Readable.from(
    (async function* () {
      try {
        yield* chunks;
      } catch (error) {
        sourceFailure = error;
        throw error;
      }
    })(),
  );
  const fed = pipeline(source, parser);
  // A part being read when the message breaks off (or the source fails) must fail its reader, not leave it waiting.
  let current: Readable | undefined;
  parser.once('error', (error: Error) => current?.destroy(error));
  parser.once('close', () => current?.destroy(new Error('The message ends in the middle of an attachment')));
  try {
    for await (const data of parser as AsyncIterable<AttachmentStream | MessageText>) {
      if (data.type !== 'attachment') continue;
      current = data.content as Readable;
      await onPart({
        name: data.filename,
        contentType: data.contentType,
        inline: isInlinePart(data.contentType, data.contentDisposition, data.contentId),
        content: unclosing(current),
      });
      // The parser goes on only once the part is read to its end and released.
      for await (const _ of current);
      current = undefined;
      data.release();
    }
    await fed;
  } catch (error) {
    source.destroy();
    parser.destroy();
    await fed.catch(() => undefined);
    // A broken download surfaces as itself, whatever the parser made of it, so that it is tried again.
    throw sourceFailure ?? error;
  }
  return headers ?? mimeHeaders(new Map(), []);
}

/** Reads only as far as the end of a message's headers; undefined if there are none. */
export async function readMimeHeaders(chunks: AsyncIterable<Uint8Array>): Promise<MimeHeaders | undefined> {
  const parser = await mailParser();
  const source = Readable.from(chunks);
  let headerMap: Headers | undefined;
  const read = new Promise<MimeHeaders | undefined>((resolve, reject) => {
    parser.once('headers', (map: Headers) => {
      headerMap = map;
    });
    parser.once('headerLines', (lines: HeaderLines) => resolve(mimeHeaders(headerMap ?? new Map(), lines)));
    parser.once('end', () => resolve(undefined));
    parser.once('error', reject);
    source.once('error', reject);
  });
  // The body is not wanted: parts are let through unread.
  parser.on('data', (data: AttachmentStream | MessageText) => {
    if (data.type === 'attachment') {
      data.content.on('end', () => data.release());
      (data.content as Readable).resume();
    }
  });
  source.pipe(parser);
  try {
    return await read;
  } finally {
    source.unpipe(parser);
    source.destroy();
    parser.destroy();
  }
}

/** A part's file name, or what stands for it: an attached message often has none. */
export function partName(part: Pick<MimePart, 'name' | 'contentType'>): string {
  return part.name ?? (isMessage(part.contentType) ? 'message.eml' : 'unnamed');
}

export function isMessage(contentType: string): boolean {
  return contentType.toLowerCase().startsWith('message/rfc822');
}

/** A reader that stops early leaves the rest of the part to be skipped, instead of destroying it under the parser. */
function unclosing(stream: Readable): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => stream.iterator({ destroyOnReturn: false }) };
}

/** Exchange marks images referenced from the body inline; any other part is an attachment proper. */
export function isInlinePart(contentType: string, disposition: string | undefined, contentId: string | undefined) {
  return contentType.toLowerCase().startsWith('image/') && (disposition === 'inline' || contentId !== undefined);
}

/** The headers collect reads, from MailParser's map and raw lines. */
export function mimeHeaders(map: Headers, lines: HeaderLines): MimeHeaders {
  const date = map.get('date');
  const subject = map.get('subject');
  const messageId = map.get('message-id');
  const from = (map.get('from') as AddressObject | undefined)?.value[0]?.address?.toLowerCase();
  return {
    messageId: typeof messageId === 'string' ? messageId : undefined,
    subject: typeof subject === 'string' ? subject : undefined,
    from: from || undefined,
    date: date instanceof Date && !Number.isNaN(date.getTime()) ? date : undefined,
    received: receivedTime(lines),
  };
}

/** Each hop adds a Received header on top: the first one tells when the mailbox got the message. */
function receivedTime(lines: HeaderLines): Date | undefined {
  const line = lines.find((h) => h.key === 'received')?.line;
  if (!line) return undefined;
  const unfolded = line.replace(/\r?\n[ \t]+/g, ' ');
  const time = Date.parse(unfolded.slice(unfolded.lastIndexOf(';') + 1).trim());
  return Number.isNaN(time) ? undefined : new Date(time);
}
