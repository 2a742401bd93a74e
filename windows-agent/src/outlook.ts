import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { CommandRunner } from './commands.ts';

export interface OutlookQuery {
  /** Folder path from the mailbox root, e.g. `Inbox/Genesys`. */
  folder: string;
  /** SMTP address of the account or shared mailbox; default: the profile's default mailbox. */
  account?: string;
  /** Messages received at or after this instant. */
  since: Date;
  /** An empty folder to save the attachments in. */
  saveDir: string;
  /** Attachments (`EntryID/index`) already pushed: not saved again. */
  known: readonly string[];
}

/** One CSV attachment Outlook saved, described as outlook.ps1 writes it. */
export interface OutlookAttachment {
  /** `EntryID/index`: the attachment, stable while its message stays in the folder. */
  id: string;
  /** Internet Message-ID when the message has one, else its EntryID. */
  messageId: string;
  /** ISO instants. */
  receivedAt: string;
  sentAt: string;
  /** Lower-case SMTP address. */
  sender: string | undefined;
  subject: string;
  attachmentName: string;
  size: number;
  /** Where it was saved. */
  path: string;
}

/** The narrow seam to Outlook: everything the agent needs of COM is this one call. */
export interface OutlookReader {
  read(query: OutlookQuery): Promise<OutlookAttachment[]>;
}

const instant = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'not a date-time');

/** What outlook.ps1 writes: a JSON array, one object per saved attachment. */
export const outlookOutputSchema = z.array(
  z.object({
    id: z.string().min(1),
    entryId: z.string().min(1),
    internetMessageId: z.string().nullish(),
    receivedAt: instant,
    sentAt: instant,
    sender: z.string().nullish(),
    subject: z.string().nullish(),
    attachmentName: z.string().min(1),
    size: z.number().int().min(0),
    path: z.string().min(1),
  }),
);

export type OutlookOutput = z.input<typeof outlookOutputSchema>;

export class OutlookError extends Error {
  override name = 'OutlookError';
}

/** Outlook through COM, by running outlook.ps1 in Windows PowerShell. */
export function powershellOutlookReader(commands: CommandRunner, scriptPath: string): OutlookReader {
  return {
    async read(query) {
      const knownFile = join(query.saveDir, 'known.txt');
      const outFile = join(query.saveDir, 'attachments.json');
      await writeFile(knownFile, query.known.join('\r\n'), 'utf8');
      const result = await commands.run('powershell.exe', [
        '-NoProfile',
        '-NonInteractive',
        '-ExecutionPolicy',
        'Bypass',
        '-File',
        scriptPath,
        '-Folder',
        query.folder,
        '-Since',
        query.since.toISOString(),
        '-SaveDir',
        query.saveDir,
        '-KnownFile',
        knownFile,
        '-OutFile',
        outFile,
        ...(query.account ? ['-Account', query.account] : []),
      ]);
      if (result.code !== 0) {
        throw new OutlookError(`Reading Outlook failed (exit code ${result.code}): ${result.stderr.trim()}`);
      }
      // The JSON goes through a UTF-8 file: Windows PowerShell would write stdout in the console's code page.
      const text = (await readFile(outFile, 'utf8')).replace(/^\uFEFF/, '');
      const parsed = outlookOutputSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new OutlookError(`outlook.ps1 wrote unexpected JSON: ${parsed.error.message}`);
      return parsed.data.map((item) => ({
        id: item.id,
        messageId: item.internetMessageId || item.entryId,
        receivedAt: new Date(item.receivedAt).toISOString(),
        sentAt: new Date(item.sentAt).toISOString(),
        sender: item.sender ? item.sender.toLowerCase() : undefined,
        subject: item.subject ?? '',
        attachmentName: item.attachmentName,
        size: item.size,
        path: item.path,
      }));
    },
  };
}
