import { createHash } from 'node:crypto';
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { mapPool } from './concurrency.ts';
import type { MailMessage, MailSource } from './mail.ts';
import { isMessage, type MimeHeaders, partName, readMime, readMimeHeaders, UnreadableError } from './mime.ts';

export interface SavedMailOptions {
  s3: S3Client;
  bucket: string;
  /** Where saved `.eml` files are put, e.g. `inbox/eml/`. */
  prefix: string;
}

/** Saved messages read at once while looking for the day's. */
const headerConcurrency = 8;

/**
 * A file cannot hold a message before the message was received, so a file last modified
 * before the window opened holds none of its messages; a day of slack covers clock skew.
 */
const uploadSlackMs = 24 * 3_600_000;

/**
 * Saved mail: `.eml` files under an S3 prefix, for backfills. A message counts for the day
 * it was received (its newest Received header, else its Date). Its attachments are read in
 * one pass over the MIME, each streamed as Graph streams a mailbox's, an attached message
 * being an item attachment. A message is named by the SHA-256 of its bytes, so a quarantined
 * file comes back once it is replaced.
 */
export function createSavedMailSource(options: SavedMailOptions): MailSource {
  const { s3, bucket, prefix } = options;

  async function read(key: string): Promise<AsyncIterable<Uint8Array>> {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return object.Body as AsyncIterable<Uint8Array>;
  }

  /** The headers of a saved message (or why they cannot be read) and the digest of all its bytes. */
  async function describe(key: string) {
    const body = (await read(key))[Symbol.asyncIterator]();
    const hash = createHash('sha256');
    const hashed = async (): Promise<IteratorResult<Uint8Array>> => {
      const next = await body.next();
      if (!next.done) hash.update(next.value);
      return next;
    };
    // The header reader stops early; the rest of the file is read on for its digest.
    let headers: MimeHeaders | undefined;
    let unreadable: string | undefined;
    try {
      headers = await readMimeHeaders({ [Symbol.asyncIterator]: () => ({ next: hashed }) });
    } catch (error) {
      if (!(error instanceof UnreadableError)) throw error;
      unreadable = error.message;
    }
    while (!(await hashed()).done);
    return { headers, unreadable, sha256: hash.digest('hex') };
  }

  return {
    name: `s3://${bucket}/${prefix}`,
    origin: 'saved-mail',

    async *messages(window) {
      const start = Date.parse(window.start);
      const end = Date.parse(window.end);
      const files: { key: string; modifiedAt: Date }[] = [];
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
        for (const object of page.Contents ?? []) {
          const modifiedAt = object.LastModified ?? new Date();
          if (object.Key && /\.eml$/i.test(object.Key) && modifiedAt.getTime() >= start - uploadSlackMs) {
            files.push({ key: object.Key, modifiedAt });
          }
        }
      }
      const messages = await mapPool(files, headerConcurrency, async ({ key, modifiedAt }): Promise<MailMessage> => {
        const { headers, unreadable, sha256 } = await describe(key);
        const received = headers?.received ?? headers?.date ?? modifiedAt;
        return {
          id: key,
          internetMessageId: headers?.messageId,
          subject: headers?.subject ?? '',
          from: headers?.from,
          receivedAt: received.toISOString(),
          sentAt: (headers?.date ?? received).toISOString(),
          source: `message:${sha256}`,
          storedAt: key,
          ...(unreadable ? { unreadable } : {}),
        };
      });
      const inWindow = messages.filter((m) => Date.parse(m.receivedAt) >= start && Date.parse(m.receivedAt) < end);
      yield* inWindow.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id));
    },

    async eachAttachment(key, visit) {
      let index = 0;
      await readMime(await read(key), (part) =>
        visit(
          {
            id: String(index++),
            name: partName(part),
            contentType: part.contentType,
            size: undefined,
            isInline: part.inline,
            kind: isMessage(part.contentType) ? 'item' : 'file',
          },
          // The part streams once, as the message is read.
          (consume) => consume(part.content),
        ),
      );
    },
  };
}
