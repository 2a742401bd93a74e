import type { FileOrigin } from '../common/contracts.ts';

/** A message as collect sees it, whatever the mailbox behind it. */
export interface MailMessage {
  /** The source's id of the message, for follow-up requests. */
  id: string;
  /** RFC 5322 Message-ID: unlike `id`, it survives moving the message between folders. */
  internetMessageId: string | undefined;
  subject: string;
  /** Lower-case sender address. */
  from: string | undefined;
  /** ISO instants. */
  receivedAt: string;
  sentAt: string;
  /**
   * What a quarantine record names the message by: the same on every run, and new once the
   * message changes (functions/common/quarantine.ts).
   */
  source: string;
  /** The S3 key of the message's bytes (saved mail): what a quarantine keeps a copy of. */
  storedAt?: string;
  /** Why the message cannot be read at all, when it cannot: collect quarantines it unread. */
  unreadable?: string;
}

export interface MailAttachment {
  id: string;
  name: string;
  contentType: string;
  /** Bytes as the source reports them, when it does before the attachment is read. */
  size: number | undefined;
  isInline: boolean;
  /** File attachments hold bytes; item attachments are attached mail (their bytes are its MIME); reference attachments are links. */
  kind: 'file' | 'item' | 'reference';
}

export interface MailWindow {
  start: string;
  end: string;
}

/**
 * Streams an attachment's bytes into `consume` and returns its result. A transfer that fails
 * midway is retried from the start, so `consume` must start over when called again.
 */
export type AttachmentReader = <T>(consume: (chunks: AsyncIterable<Uint8Array>) => Promise<T>) => Promise<T>;

/** A mailbox folder collect reads, free of transport details: Graph, or saved `.eml` files. */
export interface MailSource {
  /** For logs and errors, e.g. `reports@example.com:Inbox/Genesys`. */
  readonly name: string;
  /** Recorded with every file stored from this source. */
  readonly origin: FileOrigin;
  /** Messages with attachments received in [start, end), oldest first. */
  messages(window: MailWindow): AsyncIterable<MailMessage>;
  /**
   * Hands each attachment of a message to `visit` in order, with the means to read its bytes.
   * A source may read the whole message in one pass, so `read` works only while `visit` runs.
   */
  eachAttachment(
    messageId: string,
    visit: (attachment: MailAttachment, read: AttachmentReader) => Promise<void>,
  ): Promise<void>;
  /** Told once every attachment of a message is stored; a source may then file the message away. */
  messageCollected?(messageId: string): Promise<void>;
}
