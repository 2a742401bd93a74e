import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FakeMessage } from '../../local/graph-server.ts';
import type { CommandResult, CommandRunner } from '../../windows-agent/src/commands.ts';
import type { OutlookOutput } from '../../windows-agent/src/outlook.ts';

export interface Call {
  command: string;
  args: string[];
}

/**
 * Windows as the agent meets it: `powershell.exe` running outlook.ps1 over a folder of
 * messages, answering in the script's JSON shape, and `schtasks.exe` keeping tasks.
 * Messages are those the fake Graph mailbox serves, so both paths can see the same mail.
 */
export class FakeWindows implements CommandRunner {
  readonly calls: Call[] = [];
  readonly tasks = new Map<string, string>();
  /** Set to make the script fail as PowerShell does when Outlook cannot be started. */
  outlookFailure: string | undefined;
  /** The attachments the agent last said it had pushed, and how many the script then saved. */
  lastKnown: string[] = [];
  lastSaved = 0;

  constructor(public messages: FakeMessage[] = []) {}

  async run(command: string, args: readonly string[]): Promise<CommandResult> {
    this.calls.push({ command, args: [...args] });
    if (command === 'powershell.exe') return this.outlook(args);
    if (command === 'schtasks.exe') return this.schtasks(args);
    return { code: 9009, stdout: '', stderr: `'${command}' is not recognized` };
  }

  /** outlook.ps1: Restrict by received time (to the minute), skip known attachments, save CSVs and zips. */
  private outlook(args: readonly string[]): CommandResult {
    const arg = (name: string) => {
      const at = args.indexOf(name);
      if (at < 0) throw new Error(`outlook.ps1 called without ${name}`);
      return args[at + 1] as string;
    };
    if (this.outlookFailure) return { code: 1, stdout: '', stderr: this.outlookFailure };
    const since = Math.floor(Date.parse(arg('-Since')) / 60_000) * 60_000;
    const saveDir = arg('-SaveDir');
    this.lastKnown = readFileSync(arg('-KnownFile'), 'utf8').split('\r\n').filter(Boolean);
    const known = new Set(this.lastKnown);
    const found: OutlookOutput = [];
    for (const message of this.messages) {
      if (Date.parse(message.receivedDateTime) < since) continue;
      const entryId = createHash('sha1').update(message.internetMessageId).digest('hex').toUpperCase();
      message.attachments.forEach((attachment, i) => {
        const id = `${entryId}/${i + 1}`;
        const file = (attachment.kind ?? 'file') === 'file' && !attachment.isInline;
        if (!file || !/\.(csv|zip)$/i.test(attachment.name) || known.has(id)) return;
        const path = join(saveDir, `${found.length + 1}${extname(attachment.name)}`);
        writeFileSync(path, attachment.content);
        found.push({
          id,
          entryId,
          internetMessageId: message.internetMessageId,
          receivedAt: roundTrip(message.receivedDateTime),
          sentAt: roundTrip(message.sentDateTime),
          // Outlook shows addresses as they were written; the agent lower-cases them as Graph's do.
          sender: message.from.toUpperCase(),
          subject: message.subject,
          attachmentName: attachment.name,
          size: attachment.content.length,
          path,
        });
      });
    }
    this.lastSaved = found.length;
    writeFileSync(arg('-OutFile'), JSON.stringify(found), 'utf8');
    return { code: 0, stdout: '', stderr: '' };
  }

  private schtasks(args: readonly string[]): CommandResult {
    const name = args[args.indexOf('/TN') + 1] as string;
    switch (args[0]) {
      case '/Create':
        this.tasks.set(name, args[args.indexOf('/TR') + 1] as string);
        return { code: 0, stdout: `SUCCESS: The scheduled task "${name}" has successfully been created.`, stderr: '' };
      case '/Delete':
        if (!this.tasks.delete(name)) return notFound();
        return { code: 0, stdout: `SUCCESS: The scheduled task "${name}" was successfully deleted.`, stderr: '' };
      case '/Query':
        if (!this.tasks.has(name)) return notFound();
        return {
          code: 0,
          stdout: `Folder: \\\r\nTaskName:      \\${name}\r\nNext Run Time: 3/10/2026 11:00:00 AM\r\nStatus:        Ready\r\n`,
          stderr: '',
        };
      default:
        return { code: 1, stdout: '', stderr: 'ERROR: Invalid argument/option.' };
    }
  }
}

function notFound(): CommandResult {
  return { code: 1, stdout: '', stderr: 'ERROR: The system cannot find the file specified.' };
}

/** .NET's round-trip format ("o"), as outlook.ps1 writes times: seven fractional digits. */
function roundTrip(iso: string): string {
  return new Date(iso).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}
