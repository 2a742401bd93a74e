import * as z from 'zod/mini';
import type { Config } from '../common/config.ts';

/**
 * What the Windows agent and its endpoint say to each other. The endpoint never receives a
 * file: it answers a description of one with a presigned PUT for exactly that file.
 */

/** The routes, under the endpoint's URL. */
export const AGENT_ROUTES = { rules: '/rules', uploads: '/uploads' } as const;

/** A request body is a small JSON description; anything larger is refused unread. */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024;

/** Agent ids: lower-case letters, digits and `-`; they name the agent's folder in the inbox. */
export const AGENT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** An agent token is `<agentId>.<secret>`, the secret 32 random bytes in base64url. */
export function parseAgentToken(token: string): { agentId: string; secret: string } | undefined {
  const dot = token.indexOf('.');
  const agentId = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  return dot > 0 && AGENT_ID_PATTERN.test(agentId) && /^[A-Za-z0-9_-]{43}$/.test(secret)
    ? { agentId, secret }
    : undefined;
}

const instant = z.iso.datetime({ offset: true });

/**
 * `POST /uploads`: one file the agent found, described. zod's tree-shakable API keeps the
 * endpoint's bundle small.
 */
export const uploadRequestSchema = z.strictObject({
  /** The attachment's (or saved file's) name: a CSV, or a zip of CSVs as collect unpacks them. */
  fileName: z.string().check(z.minLength(1), z.maxLength(255), z.regex(/\.(csv|zip)$/i, 'must be a .csv or .zip file')),
  /** The export type the agent recognised by the cloud's rules; none for a zip whose CSVs tell their own. */
  type: z.optional(z.string().check(z.minLength(1))),
  bytes: z.int().check(z.positive()),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256')),
  /** When the message arrived (or the file was saved). */
  receivedAt: instant,
  /** When the export was made: the message's sent time (Outlook `SentOn`), or the saved file's time. */
  exportedAt: instant,
  /** Internet Message-ID, else Outlook's EntryID; none for a file saved by an Outlook rule. */
  messageId: z.optional(z.string().check(z.minLength(1), z.maxLength(998))),
  sender: z.optional(z.string().check(z.maxLength(320))),
});

export type UploadRequest = z.infer<typeof uploadRequestSchema>;

export type UploadResponse =
  | { alreadyStored: true; key: string }
  | {
      alreadyStored: false;
      key: string;
      /** A presigned PUT for this key, valid until `expiresAt`. */
      url: string;
      /** Send exactly these headers with the PUT: they are part of the signature. */
      headers: Record<string, string>;
      expiresAt: string;
    };

/** `GET /rules`: what the agent needs of the cloud configuration to pick the same files collect would. */
export type AgentRules = Pick<Config, 'timeZone' | 'exports'> & {
  mailbox: Pick<Config['mailbox'], 'senders' | 'maxAttachmentBytes'>;
};

export function agentRules(config: Config): AgentRules {
  return {
    timeZone: config.timeZone,
    mailbox: { senders: config.mailbox.senders, maxAttachmentBytes: config.mailbox.maxAttachmentBytes },
    exports: config.exports,
  };
}

/** Error bodies: `{ error }`, a sentence for the operator. */
export interface ErrorBody {
  error: string;
}
