import { describe, expect, it } from 'vitest';
import type { FakeGraph } from '../../local/graph-server.ts';
import { config, csvMessage, date, ibCallsCsv, useHarness } from './harness.ts';

const h = useHarness();
const processed = 'Inbox/Genesys/Processed';
const moving = { ...config, mailbox: { ...config.mailbox, moveProcessedTo: processed, maxAttachmentBytes: 4000 } };

function movingSource(fake: FakeGraph) {
  return h.graphSource(fake, {
    mailbox: { ...moving.mailbox, graphBaseUrl: fake.graphBaseUrl, authorityHost: fake.authorityHost },
  });
}

const moves = (fake: FakeGraph) => fake.requests.filter((r) => /\/messages\/[^/]+\/move$/.test(r.path));

const messages = () => [
  csvMessage('stored'),
  // Too large to store: left where the run report points to it.
  csvMessage('oversized', { csv: `${ibCallsCsv}${',,,,,,,,\n'.repeat(1000)}`, sentDateTime: '2026-03-09T16:00:00Z' }),
  csvMessage('newsletter', { from: 'news@contoso-insights.example', subject: 'Contact center trends' }),
];

describe('moving processed messages (mailbox.moveProcessedTo)', () => {
  it('moves a message once all its exports are stored, and leaves the others in the folder', async () => {
    const fake = await h.fakeGraph({ messages: messages(), permission: 'Mail.ReadWrite', folders: [processed] });
    const mail = movingSource(fake);
    const first = await h.run(mail, { date }, { config: moving });

    expect(fake.messagesIn(processed)).toEqual(['<stored@mypurecloud.com>']);
    expect(fake.messagesIn(config.mailbox.folder).sort()).toEqual([
      '<newsletter@mypurecloud.com>',
      '<oversized@mypurecloud.com>',
    ]);
    expect(moves(fake)).toEqual([
      expect.objectContaining({ status: 201, path: expect.stringMatching(/\/messages\/.+\/move$/) }),
    ]);
    expect(first.mail).toMatchObject({ messagesSeen: 3, attachmentsStored: 1 });

    // The next run no longer sees it, and still lists the day's stored files.
    const again = await h.run(mail, { date }, { config: moving });
    expect(again.mail).toMatchObject({ messagesSeen: 2, attachmentsStored: 0 });
    expect(again.files).toEqual(first.files);
  });

  it('leaves a message whose exports this run does not collect', async () => {
    const fake = await h.fakeGraph({ messages: messages(), permission: 'Mail.ReadWrite', folders: [processed] });
    await h.run(movingSource(fake), { date, reports: ['Dials'] }, { config: moving });
    expect(fake.messagesIn(processed)).toEqual([]);
    expect(moves(fake)).toEqual([]);
  });

  it('names Mail.ReadWrite and the option when the app may only read', async () => {
    const fake = await h.fakeGraph({ messages: messages(), permission: 'Mail.Read', folders: [processed] });
    const error = await h.run(movingSource(fake), { date }, { config: moving }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      new RegExp(
        '^Microsoft Graph denied access to mailbox reports@example\\.com while moving message \\S+ to Inbox/Genesys/Processed ' +
          '\\(403 ErrorAccessDenied: Access is denied\\. Check credentials and try again\\.\\)\\. ' +
          'The app registration 00000000-0000-0000-0000-000000000000 needs Mail\\.ReadWrite on this mailbox: ' +
          'an "Application Mail\\.ReadWrite" role assignment in Exchange RBAC for Applications whose scope includes the mailbox, ' +
          'or the Microsoft Graph application permission Mail\\.ReadWrite with admin consent \\(tenant-wide\\); ' +
          'or turn off mailbox\\.moveProcessedTo\\.$',
      ),
    );
    expect(fake.messagesIn(config.mailbox.folder)).toHaveLength(3);
  });

  it('moves nothing when the option is not set', async () => {
    const fake = await h.fakeGraph({ messages: messages(), permission: 'Mail.ReadWrite', folders: [processed] });
    const result = await h.run(h.graphSource(fake));
    expect(result.mail.attachmentsStored).toBe(2);
    expect(moves(fake)).toEqual([]);
    expect(fake.messagesIn(config.mailbox.folder)).toHaveLength(3);
  });
});
