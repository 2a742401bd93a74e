import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { mapPool } from './concurrency.ts';
import type { MailAttachment, MailMessage, MailSource } from './mail.ts';
import { isMessage, partName, readMime, readMimeHeaders } from './mime.ts';

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
 * it was received (its newest Received header, else its Date); its attachments are listed
 * and streamed from the MIME as Graph lists and streams a mailbox's, an attached message
 * being an item attachment.
 */
export function createSavedMailSource(options: SavedMailOptions): MailSource {
  const { s3, bucket, prefix } = options;

  async function read(key: string): Promise<AsyncIterable<Uint8Array>> {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return object.Body as AsyncIterable<Uint8Array>;
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
        const headers = await readMimeHeaders(await read(key));
        const received = headers?.received ?? headers?.date ?? modifiedAt;
        return {
          id: key,
          internetMessageId: headers?.messageId,
          subject: headers?.subject ?? '',
          from: headers?.from,
          receivedAt: received.toISOString(),
          sentAt: (headers?.date ?? received).toISOString(),
        };
      });
      const inWindow = messages.filter((m) => Date.parse(m.receivedAt) >= start && Date.parse(m.receivedAt) < end);
      yield* inWindow.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id));
    },

    async attachments(key) {
      const attachments: MailAttachment[] = [];
      await readMime(await read(key), async (part) => {
        let size = 0;
        for await (const chunk of part.content) size += chunk.byteLength;
        attachments.push({
          id: String(attachments.length),
          name: partName(part),
          contentType: part.contentType,
          size,
          isInline: part.inline,
          kind: isMessage(part.contentType) ? 'item' : 'file',
        });
      });
      return attachments;
    },

    async download(key, attachmentId, consume) {
      let index = 0;
      let found: { result: Awaited<ReturnType<typeof consume>> } | undefined;
      await readMime(await read(key), async (part) => {
        if (String(index++) === attachmentId) found = { result: await consume(part.content) };
      });
      if (!found) throw new Error(`Saved message s3://${bucket}/${key} has no attachment ${attachmentId}`);
      return found.result;
    },
  };
}
