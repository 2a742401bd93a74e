import { describe, expect, it } from 'vitest';
import { excludedKey } from '../../functions/common/keys.ts';
import { csvMessage, date, ibCallsCsv, useHarness } from './harness.ts';

const h = useHarness();

const earlierCsv = ibCallsCsv.replace('4.0,900806.5', '3.0,800000');

/** One email with two IB_Calls exports, and another with a third. */
async function mailbox() {
  const fake = await h.fakeGraph({
    messages: [
      csvMessage('both', {
        attachments: [
          { name: 'IB_Calls_2026-03-09_1000.csv', contentType: 'text/csv', content: Buffer.from(ibCallsCsv) },
          { name: 'IB_Calls_2026-03-09_0900.csv', contentType: 'text/csv', content: Buffer.from(earlierCsv) },
        ],
      }),
      csvMessage('later', {
        sentDateTime: '2026-03-09T16:00:00Z',
        receivedDateTime: '2026-03-09T16:00:30Z',
        name: 'IB_Calls_2026-03-09_1100.csv',
        csv: ibCallsCsv.replace('4.0,900806.5', '5.0,700000'),
      }),
    ],
  });
  return h.graphSource(fake);
}

describe('undo in collect', () => {
  it('takes out every file of an email named by its message id, and keeps them out', async () => {
    const mail = await mailbox();
    const first = await h.run(mail);
    expect(first.files).toHaveLength(3);
    expect(first.undone).toEqual([]);
    const ofBoth = first.files.filter((f) => f.messageId === '<both@mypurecloud.com>');
    expect(ofBoth).toHaveLength(2);

    // Angle brackets are optional.
    const undo = await h.run(mail, { date, undo: ['both@mypurecloud.com'] });
    expect(undo.run.undo).toEqual(['both@mypurecloud.com']);
    expect(undo.undone.map((f) => f.key).sort()).toEqual(ofBoth.map((f) => f.key).sort());
    expect(undo.files.map((f) => f.messageId)).toEqual(['<later@mypurecloud.com>']);
    expect((await h.storedKeys('excluded/')).sort()).toEqual(ofBoth.map((f) => excludedKey(f.key)).sort());
    // The source files themselves are kept.
    expect(await h.storedKeys()).toEqual(first.files.map((f) => f.key).sort());

    // A later run collects the same mail again: the files stay out, and are listed for removal again.
    const later = await h.run(mail);
    expect(later.undone.map((f) => f.key).sort()).toEqual(ofBoth.map((f) => f.key).sort());
    expect(later.files).toHaveLength(1);
  });

  it('undoes one file by its key, and refuses a source that is not a file of the day', async () => {
    const mail = await mailbox();
    const first = await h.run(mail);
    const one = first.files.find((f) => f.attachmentName === 'IB_Calls_2026-03-09_0900.csv');
    const undo = await h.run(mail, { undo: [one?.key as string] });
    expect(undo.run.date).toBe(date);
    expect(undo.undone).toEqual([one]);
    expect(undo.files).toHaveLength(2);

    await expect(h.run(mail, { date, undo: ['<nobody@example.com>'] })).rejects.toThrow(
      /no raw file of 2026-03-09 .* is "<nobody@example.com>"/,
    );
    // Only the one file is marked.
    expect(await h.storedKeys('excluded/')).toEqual([excludedKey(one?.key as string)]);
  });
});
