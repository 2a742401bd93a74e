import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { rawKey } from '../../functions/common/keys.ts';
import { type SampleEmail, writeSampleMailbox } from '../../local/sample-day.ts';
import { config, csvMessage, date, forwarded, genesys, ibCallsCsv, mime, sha256, useHarness } from './harness.ts';

const h = useHarness();
const prefix = config.mailbox.savedMailPrefix;
let sample: SampleEmail[];
let mailboxDir: string;

beforeAll(async () => {
  mailboxDir = join(h.dir, 'mailbox');
  sample = await writeSampleMailbox({ config, date, dir: mailboxDir });
});

async function saveSampleDay(): Promise<void> {
  for (const name of await readdir(mailboxDir)) {
    await h.put(`${prefix}backfill/${name}`, await readFile(join(mailboxDir, name)));
  }
}

const exportEmails = () => sample.filter((m) => m.attachment);
const distinctKeys = (emails: SampleEmail[]) =>
  [...new Set(emails.map((m) => rawKey(date, m.attachment?.type ?? '', m.attachment?.sha256 ?? '')))].sort();

describe('saved mail', () => {
  it('collects a folder of saved .eml files as it collects the mailbox', async () => {
    await saveSampleDay();
    const result = await h.run(undefined);

    const expected = distinctKeys(exportEmails());
    expect(await h.storedKeys()).toEqual(expected);
    expect(result.mail).toMatchObject({
      messagesSeen: sample.length,
      messagesMatched: exportEmails().length,
      messagesIgnored: 1,
      attachmentsStored: expected.length,
      attachmentsAlreadyStored: exportEmails().length - expected.length,
    });
    expect(result.mail.ignored).toEqual([
      {
        messageId: expect.stringContaining('@contoso-insights.example>'),
        subject: 'Contact center trends: the March edition',
        reason:
          'sender news@contoso-insights.example is not accepted (mailbox.senders); nothing it sent looks like an export',
        severity: 'intentional',
        fix: 'if it does send exports, add news@contoso-insights.example or @contoso-insights.example to mailbox.senders',
      },
    ]);

    // Lineage as from Graph: the Message-ID, the newest Received header, the Date.
    const [first] = exportEmails()
      .filter((m) => m.attachment?.name === 'Dials_2026-03-09_1400.csv')
      .sort((a, b) => a.sentAt.localeCompare(b.sentAt));
    const eml = await readFile((first as SampleEmail).file, 'utf8');
    expect(result.files.find((f) => f.sha256 === first?.attachment?.sha256)).toEqual(
      expect.objectContaining({
        type: 'Dials',
        messageId: /^Message-ID: (.+)$/m.exec(eml)?.[1]?.trim(),
        receivedAt: first?.receivedAt,
        exportedAt: first?.sentAt,
        attachmentName: 'Dials_2026-03-09_1400.csv',
        origin: 'saved-mail',
      }),
    );

    const again = await h.run(undefined);
    expect(again.mail.attachmentsStored).toBe(0);
    expect(again.files).toEqual(result.files);
  });

  it('leaves out saved mail received on another day', async () => {
    const other = await mime({
      from: genesys,
      subject: 'Scheduled export: IB_Calls',
      date: new Date('2026-03-11T15:00:00Z'),
      headers: [
        { key: 'Received', value: 'from mail.mypurecloud.com by outlook.com; Wed, 11 Mar 2026 15:00:40 +0000' },
      ],
      attachments: [{ filename: 'IB_Calls_2026-03-11_1000.csv', content: ibCallsCsv }],
    });
    await h.put(`${prefix}other-day.eml`, other);
    await h.put(`${prefix}notes.txt`, 'not mail');
    const result = await h.run(undefined);
    expect(result.mail.messagesSeen).toBe(0);
    expect(await h.storedKeys()).toEqual([]);
  });

  it('opens attached emails and zips in saved mail as it does in the mailbox', async () => {
    const archive = Buffer.from(zipSync({ 'IB_Calls_2026-03-09_0900.csv': strToU8(ibCallsCsv) }));
    const { forward } = await forwarded([{ filename: 'IB_Calls_2026-03-09_0900.zip', content: archive }]);
    await h.put(`${prefix}forward.eml`, forward);
    const result = await h.run(undefined);
    expect(result.files).toEqual([
      expect.objectContaining({
        key: rawKey(date, 'IB_Calls', sha256(ibCallsCsv)),
        messageId: '<forward@mypurecloud.com>',
        attachmentName: 'Scheduled export.eml/IB_Calls_2026-03-09_0900.zip/IB_Calls_2026-03-09_0900.csv',
        exportedAt: '2026-03-09T14:05:00.000Z',
        origin: 'saved-mail',
      }),
    ]);
  });

  it('stores a CSV found both in the mailbox and in saved mail once, described by its earlier export', async () => {
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('mailbox', { sentDateTime: '2026-03-09T16:00:00Z', receivedDateTime: '2026-03-09T16:00:30Z' }),
      ],
    });
    const saved = await mime({
      from: genesys,
      subject: 'Scheduled export: IB_Calls',
      messageId: '<saved@mypurecloud.com>',
      date: new Date('2026-03-09T15:00:00Z'),
      attachments: [{ filename: 'IB_Calls_2026-03-09_1000.csv', content: ibCallsCsv }],
    });
    await h.put(`${prefix}saved.eml`, saved);
    const result = await h.run(h.graphSource(fake));
    expect(result.mail).toMatchObject({ messagesSeen: 2, attachmentsStored: 1, attachmentsAlreadyStored: 1 });
    expect(await h.storedKeys()).toEqual([rawKey(date, 'IB_Calls', sha256(ibCallsCsv))]);
    expect(result.files).toEqual([
      expect.objectContaining({ messageId: '<saved@mypurecloud.com>', origin: 'saved-mail' }),
    ]);
  });

  it('reads a message of 1,000 attachments in one pass, besides the read that lists it', async () => {
    const names = Array.from({ length: 1_000 }, (_, i) => `IB_Calls_2026-03-09_${String(i).padStart(4, '0')}.csv`);
    const raw = await mime({
      from: genesys,
      subject: 'Scheduled export: IB_Calls',
      date: new Date('2026-03-09T15:00:00Z'),
      attachments: names.map((filename, i) => ({ filename, content: i === 0 ? ibCallsCsv : `${ibCallsCsv}\n` })),
    });
    const key = `${prefix}many.eml`;
    await h.put(key, raw);
    const s3 = h.stack.clients.s3;
    let reads = 0;
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand' && (args.input as { Key?: string }).Key === key) reads++;
        return next(args);
      },
      { step: 'initialize', name: 'countSavedMailReads' },
    );
    const result = await h.run(undefined).finally(() => s3.middlewareStack.remove('countSavedMailReads'));
    expect(result.mail).toMatchObject({ messagesMatched: 1, attachmentsStored: 2, attachmentsAlreadyStored: 998 });
    expect(reads).toBe(2);
  });
});
