import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { strToU8, Zip, ZipDeflate, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { extract, InflateBudget } from '../../functions/collect/extract.ts';
import { Spooler } from '../../functions/collect/spool.ts';
import { rawKey } from '../../functions/common/keys.ts';
import { loadMailboxDir } from '../../local/graph-server.ts';
import {
  clientSecret,
  config,
  csvMessage,
  date,
  dialsHeader,
  forwarded,
  ibCallsCsv,
  sha256,
  useHarness,
} from './harness.ts';

const h = useHarness();

const dialsCsv = `${dialsHeader}${',,,,,,,,,,,,,,,\n'.repeat(3)}`;
/** Another IB_Calls export: the same header, other content. */
const laterIbCallsCsv = `${ibCallsCsv},,,,,,,,\n`;

/** A zip written as streaming tools write one: sizes after each entry (data descriptors), not before it. */
function streamedZip(files: Record<string, string>): Buffer {
  const parts: Uint8Array[] = [];
  const zip = new Zip((error, chunk) => {
    if (error) throw error;
    parts.push(chunk);
  });
  for (const [name, content] of Object.entries(files)) {
    const entry = new ZipDeflate(name, { level: 6 });
    zip.add(entry);
    entry.push(strToU8(content), true);
  }
  zip.end();
  return Buffer.concat(parts);
}

describe('zip attachments', () => {
  it('stores each CSV of a zip under its own content address and reports what else it holds', async () => {
    const archive = Buffer.from(
      zipSync({
        'IB_Calls_2026-03-09_1000.csv': strToU8(ibCallsCsv),
        'notes/readme.txt': strToU8('Exported by Genesys Cloud'),
      }),
    );
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('zipped', {
          attachments: [{ name: 'IB_Calls_2026-03-09_1000.zip', contentType: 'application/zip', content: archive }],
        }),
        // The same CSV, later and unzipped: one content address, one stored copy.
        csvMessage('plain', { receivedDateTime: '2026-03-09T16:00:30Z', sentDateTime: '2026-03-09T16:00:00Z' }),
      ],
    });
    const result = await h.run(h.graphSource(fake));

    const key = rawKey(date, 'IB_Calls', sha256(ibCallsCsv));
    expect(await h.storedKeys()).toEqual([key]);
    expect(Buffer.from(await h.objectBytes(key)).toString()).toBe(ibCallsCsv);
    expect(await h.metadata(key)).toMatchObject({
      'message-id': '<zipped@mypurecloud.com>',
      'attachment-name': 'IB_Calls_2026-03-09_1000.zip/IB_Calls_2026-03-09_1000.csv',
      'exported-at': '2026-03-09T15:00:00.000Z',
      sha256: sha256(ibCallsCsv),
    });
    expect(result.mail).toMatchObject({
      messagesSeen: 2,
      messagesMatched: 2,
      attachmentsStored: 1,
      attachmentsAlreadyStored: 1,
      ignored: [
        {
          messageId: '<zipped@mypurecloud.com>',
          subject: 'Scheduled export: IB_Calls',
          reason: 'IB_Calls_2026-03-09_1000.zip/notes/readme.txt: not a CSV file, a zip or an email',
          severity: 'intentional',
        },
      ],
    });
  });

  it('reads zips written with data descriptors, taking the type from the zip name or the header', async () => {
    const laterDialsCsv = `${dialsCsv},,,,,,,,,,,,,,,\n`;
    const zipped = (id: string, name: string, files: Record<string, string>) =>
      csvMessage(id, {
        subject: 'Scheduled export: Dials',
        attachments: [{ name, contentType: 'application/octet-stream', content: streamedZip(files) }],
      });
    const fake = await h.fakeGraph({
      messages: [
        zipped('named', 'Dials_2026-03-09_1400.zip', { 'export.csv': dialsCsv }),
        zipped('unnamed', 'exports.zip', { 'data.csv': laterDialsCsv }),
      ],
    });
    const result = await h.run(h.graphSource(fake));
    expect(result.files.map((f) => [f.type, f.attachmentName, f.sha256]).sort()).toEqual([
      // The zip's name names the type of the CSVs in it…
      ['Dials', 'Dials_2026-03-09_1400.zip/export.csv', sha256(dialsCsv)],
      // …and where no name does, the header.
      ['Dials', 'exports.zip/data.csv', sha256(laterDialsCsv)],
    ]);
  });

  it('reports a CSV in a zip over maxAttachmentBytes and stores the rest', async () => {
    const big = `${ibCallsCsv}${',,,,,,,,\n'.repeat(2000)}`;
    const archive = Buffer.from(
      zipSync({ 'IB_Calls_big.csv': strToU8(big), 'IB_Calls_small.csv': strToU8(ibCallsCsv) }),
    );
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('mixed', {
          attachments: [{ name: 'IB_Calls_2026-03-09_1000.zip', contentType: 'application/zip', content: archive }],
        }),
      ],
    });
    // The zip itself is small; the CSV inflated from it is not.
    const limited = { ...config, mailbox: { ...config.mailbox, maxAttachmentBytes: 10_000 } };
    expect(archive.byteLength).toBeLessThan(10_000);
    const result = await h.run(h.graphSource(fake), { date }, { config: limited });
    expect(await h.storedKeys()).toEqual([rawKey(date, 'IB_Calls', sha256(ibCallsCsv))]);
    expect(result.mail.ignored.map((i) => i.reason)).toEqual([
      'IB_Calls_2026-03-09_1000.zip/IB_Calls_big.csv: over maxAttachmentBytes (10000)',
    ]);
  });
});

describe('zip limits', () => {
  const limits = { maxInflatedBytes: 32 * 1024 * 1024, maxZipEntries: 1_000, maxInflateRatio: 200 };

  /** The zip in slices, counting the bytes read from it. */
  function counted(zip: Uint8Array) {
    const read = { bytes: 0 };
    const chunks = (async function* () {
      for (let i = 0; i < zip.length; i += 16 * 1024) {
        read.bytes += Math.min(16 * 1024, zip.length - i);
        yield zip.subarray(i, i + 16 * 1024);
      }
    })();
    return { read, chunks };
  }

  it('spools, stores and removes the entries of a zip one at a time', async () => {
    const dir = join(h.dir, 'one-at-a-time');
    await mkdir(dir, { recursive: true });
    const entries = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [
        `IB_Calls_${i}.csv`,
        strToU8(`${ibCallsCsv}${`,,,,,,,,${i}\n`.repeat(50_000)}`),
      ]),
    );
    const onDisk: string[][] = [];
    const ignored = await extract(counted(zipSync(entries)).chunks, 'zip', 'day.zip', {
      spooler: new Spooler(dir, 50 * 1024 * 1024),
      budget: new InflateBudget(limits),
      onCsv: async (csv) => {
        onDisk.push(await readdir(dir));
        expect(csv.file.bytes).toBe(entries[csv.name.slice('day.zip/'.length)]?.byteLength);
      },
    });
    expect(ignored).toEqual([]);
    expect(onDisk).toHaveLength(12);
    expect(onDisk.every((files) => files.length === 1)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('stops reading a zip at the cap, whether its entries are CSVs or not', async () => {
    const dir = join(h.dir, 'bomb');
    await mkdir(dir, { recursive: true });
    // 128 MiB of zeros in an eighth of a MiB; the same zip with its entry renamed (same length) is not a CSV.
    const csvBomb = Buffer.from(zipSync({ 'padding.csv': new Uint8Array(128 * 1024 * 1024) }));
    const binBomb = Buffer.from(csvBomb.toString('latin1').replaceAll('padding.csv', 'padding.bin'), 'latin1');
    for (const bomb of [csvBomb, binBomb]) {
      const { read, chunks } = counted(bomb);
      const stored: string[] = [];
      const error = await extract(chunks, 'zip', 'bomb.zip', {
        spooler: new Spooler(dir, 1024 * 1024 * 1024),
        // Deflate inflates at most ~1,000-fold: only the byte cap can stop this one.
        budget: new InflateBudget({ ...limits, maxInflateRatio: 2_000 }),
        onCsv: async (csv) => void stored.push(csv.name),
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: 'ZipLimitError',
        message: 'bomb.zip: inflates past maxInflatedBytes (33554432)',
      });
      expect(read.bytes).toBeLessThan(bomb.length / 2);
      expect(stored).toEqual([]);
      expect(await readdir(dir)).toEqual([]);
    }
  });
});

describe('item attachments', () => {
  it("opens a forwarded email for its CSVs, keeping the outer message's id and the export's own Date", async () => {
    const archive = Buffer.from(zipSync({ 'IB_Calls_2026-03-09_1000.csv': strToU8(laterIbCallsCsv) }));
    const { original, forward } = await forwarded([
      { filename: 'IB_Calls_2026-03-09_0900.csv', content: ibCallsCsv },
      { filename: 'IB_Calls_2026-03-09_1000.zip', content: archive },
    ]);
    // Through the .eml loader, as Exchange would hold it: one item attachment named by the subject.
    await writeFile(join(h.dir, 'forward.eml'), forward);
    const [message] = await loadMailboxDir(h.dir);
    expect(message?.attachments.map((a) => [a.kind, a.name])).toEqual([['item', 'Scheduled export: IB_Calls']]);
    expect(message?.attachments[0]?.content.equals(original)).toBe(true);

    const fake = await h.fakeGraph({ mailboxDir: h.dir });
    const result = await h.run(h.graphSource(fake));

    const ibKey = rawKey(date, 'IB_Calls', sha256(ibCallsCsv));
    const zippedKey = rawKey(date, 'IB_Calls', sha256(laterIbCallsCsv));
    expect(await h.storedKeys()).toEqual([ibKey, zippedKey].sort());
    expect(await h.metadata(ibKey)).toMatchObject({
      'message-id': '<forward@mypurecloud.com>',
      'attachment-name': 'Scheduled export: IB_Calls/IB_Calls_2026-03-09_0900.csv',
      // The original export's Date, not when it was forwarded.
      'exported-at': '2026-03-09T14:05:00.000Z',
      origin: 'graph',
    });
    expect(await h.metadata(zippedKey)).toMatchObject({
      'attachment-name': 'Scheduled export: IB_Calls/IB_Calls_2026-03-09_1000.zip/IB_Calls_2026-03-09_1000.csv',
      'exported-at': '2026-03-09T14:05:00.000Z',
    });
    expect(result.mail).toMatchObject({ messagesMatched: 1, attachmentsStored: 2, ignored: [] });
    // The item was read once, as MIME through its $value.
    expect(fake.requests.filter((r) => r.path.endsWith('/$value'))).toHaveLength(1);
  });

  it("falls back to the outer message's sent time when the attached email has no Date", async () => {
    const undated = Buffer.from(
      [
        'From: no-reply@mypurecloud.com',
        'Subject: Scheduled export: IB_Calls',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/csv; name="IB_Calls_2026-03-09_0900.csv"',
        'Content-Disposition: attachment; filename="IB_Calls_2026-03-09_0900.csv"',
        '',
        ibCallsCsv,
        '--b--',
        '',
      ].join('\r\n'),
    );
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('undated', {
          attachments: [
            { name: 'Scheduled export: IB_Calls', contentType: 'message/rfc822', content: undated, kind: 'item' },
          ],
        }),
      ],
    });
    const result = await h.run(h.graphSource(fake));
    expect(result.files).toEqual([
      expect.objectContaining({ exportedAt: '2026-03-09T15:00:00.000Z', messageId: '<undated@mypurecloud.com>' }),
    ]);
  });
});

describe('interrupted downloads', () => {
  it('starts a download over when the connection drops midway, for a CSV, a zip and an attached email', async () => {
    const big = (n: number) => `${ibCallsCsv}${`,,,,,,,,${n}\n`.repeat(20_000)}`;
    const { forward } = await forwarded([{ filename: 'IB_Calls_2026-03-09_0900.csv', content: big(1) }]);
    await writeFile(join(h.dir, 'forward.eml'), forward);
    const [item] = await loadMailboxDir(h.dir);
    const archive = Buffer.from(zipSync({ 'IB_Calls_2026-03-09_1100.csv': strToU8(big(2)) }));
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('plain', { csv: big(3) }),
        csvMessage('zipped', {
          attachments: [{ name: 'IB_Calls_2026-03-09_1100.zip', contentType: 'application/zip', content: archive }],
        }),
        csvMessage('forwarded', { attachments: item?.attachments ?? [] }),
      ],
      chunkBytes: 4096,
      interrupt: { downloads: 3 },
    });
    const result = await h.run(h.graphSource(fake));

    expect(await h.storedKeys()).toEqual([1, 2, 3].map((n) => rawKey(date, 'IB_Calls', sha256(big(n)))).sort());
    for (const file of result.files) expect(sha256(await h.objectBytes(file.key))).toBe(file.sha256);
    expect(result.mail).toMatchObject({ attachmentsStored: 3, ignored: [] });
    // Each of the three was cut off once, then read whole.
    expect(fake.requests.filter((r) => r.path.endsWith('/$value'))).toHaveLength(6);
  });
});

describe('attachments that are not exports', () => {
  it('skips images shown in the body, and reports any other attachment that is not a CSV', async () => {
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('signed', {
          attachments: [
            { name: 'IB_Calls_2026-03-09_1000.csv', contentType: 'text/csv', content: Buffer.from(ibCallsCsv) },
            { name: 'signature.png', contentType: 'image/png', content: Buffer.from('png'), isInline: true },
            { name: 'Agent schedule.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4') },
            { name: 'Exports on SharePoint', contentType: 'text/html', content: Buffer.alloc(0), kind: 'reference' },
          ],
        }),
      ],
    });
    const result = await h.run(h.graphSource(fake));
    expect(result.mail).toMatchObject({ messagesMatched: 1, messagesIgnored: 0, attachmentsStored: 1 });
    expect(result.mail.ignored).toEqual([
      {
        messageId: '<signed@mypurecloud.com>',
        subject: 'Scheduled export: IB_Calls',
        reason: 'Agent schedule.pdf: not a CSV file, a zip or an email',
        severity: 'intentional',
      },
      {
        messageId: '<signed@mypurecloud.com>',
        subject: 'Scheduled export: IB_Calls',
        reason: 'Exports on SharePoint: a link to a file kept elsewhere, not a file',
        severity: 'intentional',
        fix: 'have the export attached to the mail, not linked',
      },
    ]);
    // Only the CSV and the PDF's name were looked at: nothing else was downloaded.
    expect(fake.requests.filter((r) => r.path.endsWith('/$value'))).toHaveLength(1);
  });
});

describe('large attachments', () => {
  it('streams a large CSV from $value to S3, never asking Graph for base64 content', async () => {
    const row =
      '2026-03-09 09:00:00,2026-03-09 10:00:00,1.0,Initial Direction: Inbound,voice,0b6a3b8e-2f4e-4d55-9a51-1b6f0c7e8d21,Zoë Müller,4.0,900806.5\n';
    const large = `${ibCallsCsv.split('\n')[0]}\n${row.repeat(120_000)}`;
    expect(Buffer.byteLength(large)).toBeGreaterThan(15_000_000);
    const fake = await h.fakeGraph({ messages: [csvMessage('large', { csv: large })], chunkBytes: 16 * 1024 });
    const result = await h.run(h.graphSource(fake));

    const key = rawKey(date, 'IB_Calls', sha256(large));
    expect(result.files).toEqual([expect.objectContaining({ key, bytes: Buffer.byteLength(large) })]);
    expect(sha256(await h.objectBytes(key))).toBe(sha256(large));
    const listing = fake.requests.find((r) => r.path.endsWith('/attachments'));
    expect(listing?.query.$select?.split(',')).not.toContain('contentBytes');
    const attachmentReads = fake.requests.filter((r) => /\/attachments\/[^/]+/.test(r.path));
    expect(attachmentReads.map((r) => r.path.split('/').pop())).toEqual(['$value']);
  });
});

describe('fake Graph item and reference attachments', () => {
  it('lists them with the @odata.type and null content type Graph gives them', async () => {
    const { forward } = await forwarded([{ filename: 'IB_Calls_2026-03-09_0900.csv', content: ibCallsCsv }]);
    await writeFile(join(h.dir, 'forward.eml'), forward);
    const fake = await h.fakeGraph({ mailboxDir: h.dir });
    const token = await fetch(`${fake.authorityHost}/${config.mailbox.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: config.mailbox.clientId,
        client_secret: clientSecret,
        scope: 'https://graph.microsoft.com/.default',
        grant_type: 'client_credentials',
      }),
    }).then(async (r) => ((await r.json()) as { access_token: string }).access_token);
    const headers = { authorization: `Bearer ${token}` };
    const user = `${fake.graphBaseUrl}/users/${config.mailbox.user}`;
    const folder = (await (await fetch(`${user}/mailFolders/inbox/childFolders`, { headers })).json()) as {
      value: { id: string }[];
    };
    const messages = (await (
      await fetch(`${user}/mailFolders/${folder.value[0]?.id}/messages?$select=id`, { headers })
    ).json()) as { value: { id: string }[] };
    const attachments = (await (
      await fetch(`${user}/messages/${messages.value[0]?.id}/attachments`, { headers })
    ).json()) as { '@odata.context': string; value: Record<string, unknown>[] };
    expect(attachments['@odata.context']).toMatch(/\/\$metadata#users\('.+'\)\/messages\('.+'\)\/attachments$/);
    expect(attachments.value).toEqual([
      {
        '@odata.type': '#microsoft.graph.itemAttachment',
        id: expect.any(String),
        lastModifiedDateTime: '2026-03-09T18:30:00Z',
        name: 'Scheduled export: IB_Calls',
        contentType: null,
        size: expect.any(Number),
        isInline: false,
      },
    ]);
  });
});
