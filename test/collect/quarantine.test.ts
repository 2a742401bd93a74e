import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { MailSource } from '../../functions/collect/mail.ts';
import type { CollectResult } from '../../functions/common/contracts.ts';
import { asStateError } from '../../functions/common/errors.ts';
import { rawKey } from '../../functions/common/keys.ts';
import { maxMetadataBytes } from '../../functions/common/objects.ts';
import { listQuarantined, type QuarantineRecord } from '../../functions/common/quarantine.ts';
import type { FakeMessage } from '../../local/graph-server.ts';
import { config, csvMessage, date, forwarded, genesys, ibCallsCsv, mime, sha256, useHarness } from './harness.ts';

const h = useHarness();
const prefix = config.mailbox.savedMailPrefix;
const bucket = () => h.stack.resources.dataBucket;
const quarantined = () => listQuarantined(h.stack.clients.s3, bucket(), date);

/** Another IB_Calls export: the same header, other content. */
const laterCsv = `${ibCallsCsv},,,,,,,,\n`;

/** A saved export email, as a mail client writes it. */
function savedExport(id: string, attachments: { filename: string; content: Buffer | string }[]) {
  return mime({
    from: genesys,
    to: config.mailbox.user,
    subject: 'Scheduled export: IB_Calls',
    date: new Date('2026-03-09T15:00:00Z'),
    messageId: `<${id}@mypurecloud.com>`,
    text: 'Your scheduled export ran.',
    attachments,
  });
}

/** The message cut off in the middle of its last attachment, as a dropped connection leaves it. */
function cutOff(raw: Buffer, marker: string): Buffer {
  const at = raw.indexOf(marker);
  expect(at).toBeGreaterThan(0);
  return raw.subarray(0, at + Math.floor((raw.length - at) / 2));
}

/** What every class below must show: the run succeeds, the good file is stored, the bad input is kept aside and counted. */
async function expectQuarantined(result: CollectResult, reason: RegExp): Promise<QuarantineRecord> {
  expect(result.files.map((f) => f.key)).toContain(rawKey(date, 'IB_Calls', sha256(ibCallsCsv)));
  expect(result.mail.messagesQuarantined).toBe(1);
  const records = await quarantined();
  expect(records).toHaveLength(1);
  const record = records[0] as QuarantineRecord;
  expect(record).toMatchObject({ stage: 'collect', date });
  expect(record.reason).toMatch(reason);
  expect(result.mail.ignored).toContainEqual(
    expect.objectContaining({ reason: `quarantined as ${record.source}: ${record.reason}` }),
  );
  return record;
}

/** A rerun skips the input (its record is not written again); a run that releases it reads it again. */
async function expectSkippedThenReleased(mail: MailSource | undefined, record: QuarantineRecord, reads?: () => number) {
  const before = reads?.();
  const rerun = await h.run(mail, { date }, { now: () => Date.parse('2026-03-10T12:30:00Z') });
  expect(rerun.mail.messagesQuarantined).toBe(1);
  if (reads) expect(reads()).toBe(before);
  expect((await quarantined()).map((r) => r.at)).toEqual([record.at]);

  const later = Date.parse('2026-03-10T13:00:00Z');
  const released = await h.run(mail, { date, release: [record.source] }, { now: () => later });
  if (reads) expect(reads()).toBeGreaterThan(before ?? 0);
  // Still broken, so kept aside again, by this run.
  expect(released.mail.messagesQuarantined).toBe(1);
  expect((await quarantined()).map((r) => r.at)).toEqual([new Date(later).toISOString()]);
}

/** Requests about the quarantined Graph message. */
const requestsAbout = (fake: { requests: readonly { path: string }[] }, record: QuarantineRecord) => () =>
  fake.requests.filter((r) => r.path.includes(`/messages/${encodeURIComponent(record.source.split(':')[1] ?? '')}/`))
    .length;

describe('quarantine in collect', () => {
  it('keeps a saved message cut off mid-attachment aside, with a copy, and collects the rest of the day', async () => {
    const good = await savedExport('good', [{ filename: 'IB_Calls_2026-03-09_1000.csv', content: ibCallsCsv }]);
    const broken = cutOff(
      await savedExport('cut', [{ filename: 'IB_Calls_2026-03-09_1100.csv', content: laterCsv.repeat(200) }]),
      'IB_Calls_2026-03-09_1100.csv',
    );
    await h.put(`${prefix}good.eml`, good);
    await h.put(`${prefix}backfill/cut off é%.eml`, broken);

    const result = await h.run(undefined);
    const record = await expectQuarantined(result, /cut off in the middle of an attachment/);
    expect(record.source).toBe(`message:${sha256(broken)}`);
    expect(record.detail).toMatchObject({ messageId: '<cut@mypurecloud.com>', subject: 'Scheduled export: IB_Calls' });
    expect(Buffer.from(await h.objectBytes(record.copy ?? '')).equals(broken)).toBe(true);
    expect(result.mail).toMatchObject({ messagesSeen: 2, messagesMatched: 1, attachmentsStored: 1 });
    await expectSkippedThenReleased(undefined, record);

    // Replaced by a whole copy, it is another source: collected.
    const whole = await savedExport('cut', [{ filename: 'IB_Calls_2026-03-09_1100.csv', content: laterCsv }]);
    await h.put(`${prefix}backfill/cut off é%.eml`, whole);
    const fixed = await h.run(undefined);
    expect(fixed.mail.messagesQuarantined ?? 0).toBe(0);
    expect(fixed.files.map((f) => f.key)).toContain(rawKey(date, 'IB_Calls', sha256(laterCsv)));
  });

  it('keeps a saved message whose multipart has no boundary aside', async () => {
    await h.put(
      `${prefix}good.eml`,
      await savedExport('good', [{ filename: 'IB_Calls_1000.csv', content: ibCallsCsv }]),
    );
    const boundless = [
      `From: ${genesys}`,
      'Subject: Scheduled export: IB_Calls',
      'Date: Mon, 9 Mar 2026 15:00:00 +0000',
      'Content-Type: multipart/mixed',
      '',
      'IB_Calls_2026-03-09_1100.csv',
      '',
    ].join('\r\n');
    await h.put(`${prefix}boundless.eml`, boundless);
    const record = await expectQuarantined(await h.run(undefined), /^a multipart\/mixed part has no boundary$/);
    await expectSkippedThenReleased(undefined, record);
  });

  it('keeps a Graph message whose attached email is cut off aside, and skips it on reruns', async () => {
    const { forward } = await forwarded([{ filename: 'IB_Calls_2026-03-09_1100.csv', content: laterCsv.repeat(200) }]);
    const inner = forward.subarray(forward.indexOf('Content-Type: message/rfc822'));
    const item: FakeMessage['attachments'][number] = {
      name: 'Scheduled export: IB_Calls',
      contentType: 'message/rfc822',
      kind: 'item',
      content: cutOff(inner.subarray(inner.indexOf('\r\n\r\n') + 4), 'IB_Calls_2026-03-09_1100.csv'),
    };
    const fake = await h.fakeGraph({
      messages: [csvMessage('good'), csvMessage('cut', { attachments: [item], sentDateTime: '2026-03-09T16:00:00Z' })],
    });
    const mail = h.graphSource(fake);
    const result = await h.run(mail);
    const record = await expectQuarantined(
      result,
      /^Scheduled export: IB_Calls\/IB_Calls_2026-03-09_1100\.csv: cannot be read \(the message is cut off/,
    );
    expect(record.source).toMatch(/^graph:AAMkAG.+:.+$/);
    expect(record.copy).toBeUndefined();
    await expectSkippedThenReleased(mail, record, requestsAbout(fake, record));
  });

  it('keeps a message Graph refuses aside, and fails the stage when Graph is unavailable', async () => {
    const refused = { status: 400, code: 'ErrorInvalidRequest', message: 'The item cannot be served.' };
    const fake = await h.fakeGraph({ messages: [csvMessage('good'), csvMessage('refused', { failWith: refused })] });
    const mail = h.graphSource(fake);
    const record = await expectQuarantined(await h.run(mail), /400 ErrorInvalidRequest: The item cannot be served/);
    await expectSkippedThenReleased(mail, record, requestsAbout(fake, record));

    const failing = { status: 500, code: 'InternalServerError', message: 'Try again.' };
    const down = await h.fakeGraph({ messages: [csvMessage('good'), csvMessage('failing', { failWith: failing })] });
    const failure = await h.run(h.graphSource(down)).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'GraphError', transient: true, status: 500 });
    expect(asStateError(failure)).toMatchObject({ name: 'TransientError' });
  });

  it('keeps a message with a zip that cannot be read aside, and stores its other attachments', async () => {
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('mixed', {
          attachments: [
            { name: 'IB_Calls_2026-03-09_1000.csv', contentType: 'text/csv', content: Buffer.from(ibCallsCsv) },
            { name: 'IB_Calls_broken.zip', contentType: 'application/zip', content: Buffer.from('not a zip at all') },
          ],
        }),
      ],
    });
    const mail = h.graphSource(fake);
    const record = await expectQuarantined(
      await h.run(mail),
      /^IB_Calls_broken\.zip: cannot be read \(not a zip archive, or an empty one\)$/,
    );
    await expectSkippedThenReleased(mail, record, requestsAbout(fake, record));
  });

  const zeros = (mib: number) => new Uint8Array(mib * 1024 * 1024);
  it.each<{ limit: string; limits: Partial<typeof config.mailbox>; files: Record<string, Uint8Array>; reason: RegExp }>(
    [
      {
        limit: 'maxInflatedBytes',
        limits: { maxInflatedBytes: 4 * 1024 * 1024 },
        files: { 'padding.csv': zeros(8) },
        reason: /^bomb\.zip: inflates past maxInflatedBytes \(4194304\)$/,
      },
      {
        limit: 'maxZipEntries',
        limits: { maxZipEntries: 5 },
        files: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`notes-${i}.txt`, strToU8('x')])),
        reason: /^bomb\.zip: more than maxZipEntries \(5\) entries$/,
      },
      {
        limit: 'maxInflateRatio',
        limits: { maxInflateRatio: 10 },
        files: { 'readme.txt': zeros(24) },
        reason: /^bomb\.zip: inflates more than maxInflateRatio \(10\) times its size$/,
      },
    ],
  )('keeps a message whose zips pass $limit aside', async ({ limits, files, reason }) => {
    const bomb = Buffer.from(zipSync(files, { level: 9 }));
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('good'),
        csvMessage('bomb', {
          attachments: [{ name: 'bomb.zip', contentType: 'application/zip', content: bomb }],
          sentDateTime: '2026-03-09T16:00:00Z',
        }),
      ],
    });
    const limited = { ...config, mailbox: { ...config.mailbox, ...limits } };
    await expectQuarantined(await h.run(h.graphSource(fake), { date }, { config: limited }), reason);
  });

  it('keeps an inbox file it cannot read aside, with a copy, until it is replaced', async () => {
    const key = `${config.agentInbox.prefix}IB_Calls__2026-03-09_1100.zip`;
    await h.put(`${config.agentInbox.prefix}IB_Calls__2026-03-09_1000.csv`, ibCallsCsv);
    await h.put(key, 'not a zip at all');
    const result = await h.run(undefined);
    const record = await expectQuarantined(result, /^IB_Calls__2026-03-09_1100\.zip: cannot be read/);
    expect(record.source).toMatch(new RegExp(`^${key}#[0-9a-f]+$`));
    expect(Buffer.from(await h.objectBytes(record.copy ?? '')).toString()).toBe('not a zip at all');
    await expectSkippedThenReleased(undefined, record);

    await h.put(key, Buffer.from(zipSync({ 'IB_Calls.csv': strToU8(laterCsv) })));
    const fixed = await h.run(undefined);
    expect(fixed.files.map((f) => f.key)).toContain(rawKey(date, 'IB_Calls', sha256(laterCsv)));
  });
});

describe('names and ids of any length or content', () => {
  it('stores a file whatever its name and message id, its metadata within 2 KB and its lineage whole', async () => {
    const name = `IB_Calls ${'é/..\u0007\uD800'.repeat(2_000)}.csv`;
    const messageId = `<${'x'.repeat(10_000)}\uDC00@mypurecloud.com>`;
    const fake = await h.fakeGraph({
      messages: [
        {
          ...csvMessage('long', { name }),
          internetMessageId: messageId,
          subject: `Scheduled export: IB_Calls ${'ü'.repeat(5_000)}`,
        },
      ],
    });
    const result = await h.run(h.graphSource(fake));
    const key = rawKey(date, 'IB_Calls', sha256(ibCallsCsv));
    expect(await h.storedKeys()).toEqual([key, `${key}.lineage.json`]);
    const metadata = (await h.metadata(key)) ?? {};
    const bytes = Object.entries(metadata).reduce((sum, [k, v]) => sum + k.length + Buffer.byteLength(v), 0);
    expect(bytes).toBeLessThanOrEqual(maxMetadataBytes);
    expect(metadata['message-id']).toMatch(/^sha256:[0-9a-f]{64}$/);
    const wellFormed = (text: string) => text.replace(/[\uD800-\uDFFF]/g, '\uFFFD');
    expect(result.files).toEqual([
      expect.objectContaining({ key, messageId: wellFormed(messageId), attachmentName: wellFormed(name) }),
    ]);
    // A rerun reads the lineage back the same.
    expect((await h.run(h.graphSource(fake))).files).toEqual(result.files);
  });
});
