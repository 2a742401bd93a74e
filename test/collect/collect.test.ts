import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { MailSource } from '../../functions/collect/mail.ts';
import { asStateError } from '../../functions/common/errors.ts';
import { rawKey } from '../../functions/common/keys.ts';
import type { FakeGraphOptions } from '../../local/graph-server.ts';
import { type SampleEmail, writeSampleMailbox } from '../../local/sample-day.ts';
import {
  acqHeader,
  config,
  csvMessage,
  date,
  dialsHeader,
  genesys,
  ibCallsCsv,
  sha256,
  useHarness,
} from './harness.ts';

const h = useHarness();
const { graphSource, run, storedKeys, objectBytes } = h;
let sample: SampleEmail[];
let mailboxDir: string;

beforeAll(async () => {
  mailboxDir = join(h.dir, 'mailbox');
  sample = await writeSampleMailbox({ config, date, dir: mailboxDir });
});

/** A fake mailbox holding the sample day, unless given its messages. */
function fakeGraph(options: Partial<FakeGraphOptions> = {}) {
  return h.fakeGraph({ ...(options.messages ? {} : { mailboxDir }), ...options });
}

const exportEmails = () => sample.filter((m) => m.attachment);
const distinctKeys = (emails: SampleEmail[]) =>
  [...new Set(emails.map((m) => rawKey(date, m.attachment?.type ?? '', m.attachment?.sha256 ?? '')))].sort();

describe('collect from the Graph mailbox', () => {
  it('stores one raw object per distinct CSV of the day, with its lineage as metadata', async () => {
    const fake = await fakeGraph();
    const result = await run(graphSource(fake, { pageSize: 25 }));

    const expected = distinctKeys(exportEmails());
    expect(await storedKeys()).toEqual(expected);
    expect(result.mail).toMatchObject({
      messagesSeen: sample.length,
      messagesMatched: exportEmails().length,
      messagesIgnored: 1,
      attachmentsStored: expected.length,
      attachmentsAlreadyStored: exportEmails().length - expected.length,
      agentFiles: 0,
    });
    // The resent Dials export is one of the attachments already stored.
    expect(result.mail.attachmentsAlreadyStored).toBeGreaterThanOrEqual(1);

    expect(result.files.map((f) => f.key).sort()).toEqual(expected);
    // Newest export first, so that a day's first ingest writes each row once.
    const exportedAts = result.files.map((f) => f.exportedAt);
    expect(exportedAts).toEqual([...exportedAts].sort().reverse());

    // The earliest export of a CSV is its lineage, whichever copy arrived or downloaded first.
    const dials = exportEmails().filter((m) => m.attachment?.name === 'Dials_2026-03-09_1400.csv');
    expect(dials).toHaveLength(2);
    const first = dials.sort((a, b) => a.sentAt.localeCompare(b.sentAt))[0] as SampleEmail;
    const eml = await readFile(first.file, 'utf8');
    const messageId = /^Message-ID: (.+)$/m.exec(eml)?.[1]?.trim();
    const key = rawKey(date, 'Dials', first.attachment?.sha256 ?? '');
    const file = result.files.find((f) => f.key === key);
    expect(file).toEqual({
      bucket: h.stack.resources.dataBucket,
      key,
      type: 'Dials',
      sha256: first.attachment?.sha256,
      bytes: first.attachment?.bytes,
      exportedAt: first.sentAt,
      receivedAt: first.receivedAt,
      messageId,
      attachmentName: 'Dials_2026-03-09_1400.csv',
      origin: 'graph',
    });
    expect(await h.metadata(key)).toEqual({
      'message-id': messageId,
      'received-at': first.receivedAt,
      'exported-at': first.sentAt,
      sender: genesys,
      'attachment-name': 'Dials_2026-03-09_1400.csv',
      type: 'Dials',
      origin: 'graph',
      sha256: first.attachment?.sha256,
    });
    const bytes = await objectBytes(key);
    expect(sha256(bytes)).toBe(first.attachment?.sha256);

    // Pages of 25 messages, each next page requested through the nextLink's $skip.
    const listings = fake.requests.filter((r) => r.path.endsWith('/messages'));
    expect(listings).toHaveLength(Math.ceil(sample.length / 25));
    expect(listings.map((r) => r.query.$skip ?? '0').sort((a, b) => Number(a) - Number(b))).toEqual(
      listings.map((_, i) => String(i * 25)),
    );
    expect(listings[0]?.query).toMatchObject({
      $filter:
        'receivedDateTime ge 2026-03-09T05:00:00Z and receivedDateTime lt 2026-03-10T07:00:00Z and hasAttachments eq true',
      $orderby: 'receivedDateTime asc',
      $top: '25',
    });
  });

  it('ignores the newsletter with a reason and never stores it', async () => {
    const fake = await fakeGraph();
    const result = await run(graphSource(fake));
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
    // Its attachments' names tell it is no export: none of them is downloaded.
    const downloads = fake.requests.filter((r) => r.path.endsWith('/$value'));
    expect(downloads).toHaveLength(exportEmails().length);
  });

  it('stores nothing new when the same day is collected again', async () => {
    const fake = await fakeGraph();
    const first = await run(graphSource(fake));
    const keys = await storedKeys();
    const second = await run(graphSource(fake));
    expect(second.mail.attachmentsStored).toBe(0);
    expect(second.mail.attachmentsAlreadyStored).toBe(exportEmails().length);
    expect(await storedKeys()).toEqual(keys);
    expect(second.files).toEqual(first.files);
  });

  it('stores the same CSV mailed twice once, and skips inline parts', async () => {
    const fake = await fakeGraph({
      messages: [
        csvMessage('first', {
          receivedDateTime: '2026-03-09T15:00:30Z',
          sentDateTime: '2026-03-09T15:00:00Z',
          name: 'IB_Calls_Müller.csv',
          attachments: [
            {
              name: 'logo.png',
              contentType: 'image/png',
              content: Buffer.from('png'),
              isInline: true,
              contentId: 'logo',
            },
            { name: 'IB_Calls_Müller.csv', contentType: 'text/csv', content: Buffer.from(ibCallsCsv) },
          ],
        }),
        csvMessage('second', { receivedDateTime: '2026-03-09T16:00:30Z', sentDateTime: '2026-03-09T16:00:00Z' }),
      ],
    });
    const result = await run(graphSource(fake));
    const sha = sha256(ibCallsCsv);
    expect(await storedKeys()).toEqual([rawKey(date, 'IB_Calls', sha)]);
    expect(result.mail).toMatchObject({
      messagesSeen: 2,
      messagesMatched: 2,
      messagesIgnored: 0,
      ignored: [],
      attachmentsStored: 1,
      attachmentsAlreadyStored: 1,
    });
    expect(result.files).toEqual([
      expect.objectContaining({
        messageId: '<first@mypurecloud.com>',
        attachmentName: 'IB_Calls_Müller.csv',
        exportedAt: '2026-03-09T15:00:00.000Z',
      }),
    ]);
    // The inline image was never downloaded.
    expect(fake.requests.filter((r) => r.path.endsWith('/$value'))).toHaveLength(2);
  });

  it('tells the type from the header when the name does not, using the subject for look-alike headers', async () => {
    const fake = await fakeGraph({
      messages: [
        csvMessage('dials', { subject: 'Scheduled export: Dials', name: 'export.csv', csv: dialsHeader }),
        csvMessage('acq', { subject: 'Scheduled export: ACQ', name: 'export (2).csv', csv: acqHeader }),
        csvMessage('unclear', { subject: 'Hourly numbers', name: 'export (3).csv', csv: `${acqHeader},,,,,,,\n` }),
      ],
    });
    const result = await run(graphSource(fake));
    expect(result.files.map((f) => [f.type, f.attachmentName]).sort()).toEqual([
      ['ACQ', 'export (2).csv'],
      ['Dials', 'export.csv'],
    ]);
    expect(result.mail.ignored).toEqual([
      {
        messageId: '<unclear@mypurecloud.com>',
        subject: 'Hourly numbers',
        reason:
          'export (3).csv: its header fits QCBS, ACQ, RESC, but the subject does not match QCBS, ' +
          'and the subject does not match ACQ, and the subject does not match RESC',
        severity: 'suspicious',
        fix:
          'widen exports[QCBS].match.subject (QCBS); widen exports[ACQ].match.subject (ACQ); ' +
          'widen exports[RESC].match.subject (RESC)',
      },
    ]);

    // Without subject rules, a shared header alone cannot tell the type.
    const anySubject = {
      ...config,
      exports: config.exports.map((spec) => ({ ...spec, match: { attachment: spec.match.attachment } })),
    };
    const unruled = await run(graphSource(fake), { date }, { config: anySubject });
    expect(unruled.mail.ignored.map((i) => i.reason).sort()).toEqual([
      'export (2).csv: its header fits QCBS, ACQ, RESC; only the name or subject can tell',
      'export (3).csv: its header fits QCBS, ACQ, RESC; only the name or subject can tell',
    ]);
  });

  it('tells an export from an unknown sender by its name or its header line, storing nothing', async () => {
    const stranger = { from: 'Reports@Example.org' };
    const fake = await fakeGraph({
      messages: [
        csvMessage('named', stranger),
        csvMessage('unnamed', { ...stranger, name: 'export.csv', receivedDateTime: '2026-03-09T16:00:30Z' }),
        csvMessage('other', {
          ...stranger,
          name: 'attendees.csv',
          csv: 'Name,Email\n',
          receivedDateTime: '2026-03-09T17:00:30Z',
        }),
      ],
    });
    const result = await run(graphSource(fake));
    expect(await storedKeys()).toEqual([]);
    const fix = 'add reports@example.org or @example.org to mailbox.senders';
    const refused = 'sender reports@example.org is not accepted (mailbox.senders)';
    expect(result.mail.ignored.map(({ reason, severity, fix }) => ({ reason, severity, fix }))).toEqual([
      {
        reason: `IB_Calls_2026-03-09_1000.csv: ${refused}, yet it sends what looks like an export`,
        severity: 'suspicious',
        fix,
      },
      { reason: `export.csv: ${refused}, yet it sends what looks like an export`, severity: 'suspicious', fix },
      {
        reason: `${refused}; nothing it sent looks like an export`,
        severity: 'intentional',
        fix: `if it does send exports, ${fix}`,
      },
    ]);
    // The named export is not downloaded; the others only for their first line.
    expect(fake.requests.filter((r) => r.path.endsWith('/$value'))).toHaveLength(2);
  });

  it('reports an attachment over maxAttachmentBytes as ignored and does not store it', async () => {
    const big = `${ibCallsCsv}${',,,,,,,,\n'.repeat(1000)}`;
    const fake = await fakeGraph({
      messages: [csvMessage('big', { csv: big }), csvMessage('small', { sentDateTime: '2026-03-09T16:00:00Z' })],
    });
    const small = { ...config, mailbox: { ...config.mailbox, maxAttachmentBytes: 4000 } };
    const result = await run(graphSource(fake), { date }, { config: small });
    expect(result.mail).toMatchObject({ messagesMatched: 1, messagesIgnored: 1, attachmentsStored: 1 });
    expect(result.mail.ignored).toEqual([
      {
        messageId: '<big@mypurecloud.com>',
        subject: 'Scheduled export: IB_Calls',
        reason: `IB_Calls_2026-03-09_1000.csv: ${Buffer.byteLength(big)} bytes, over maxAttachmentBytes (4000)`,
        severity: 'suspicious',
        fix: 'raise mailbox.maxAttachmentBytes if such files are exports',
      },
    ]);
    expect(result.files.map((f) => f.messageId)).toEqual(['<small@mypurecloud.com>']);
  });

  it('collects only the requested report types', async () => {
    const fake = await fakeGraph();
    const result = await run(graphSource(fake), { date, reports: ['Dials'] });
    const dials = exportEmails().filter((m) => m.attachment?.type === 'Dials');
    expect(await storedKeys()).toEqual(distinctKeys(dials));
    expect(result.files.every((f) => f.type === 'Dials')).toBe(true);
    expect(result.files).toHaveLength(distinctKeys(dials).length);
    expect(result.mail.ignored.map((i) => i.subject)).toEqual(['Contact center trends: the March edition']);
    // Only Dials attachments were downloaded.
    expect(fake.requests.filter((r) => r.path.endsWith('/$value'))).toHaveLength(dials.length);
  });

  it('lists the whole day on a rerun, including files stored by earlier runs for other types', async () => {
    const fake = await fakeGraph();
    await run(graphSource(fake), { date, reports: ['Dials'] });
    const result = await run(graphSource(fake), { date, reports: ['Dials', 'ACQ'] });
    const wanted = exportEmails().filter((m) => m.attachment?.type === 'Dials' || m.attachment?.type === 'ACQ');
    expect(result.files.map((f) => f.key).sort()).toEqual(distinctKeys(wanted));
    expect(result.mail.attachmentsStored).toBe(distinctKeys(wanted.filter((m) => m.attachment?.type === 'ACQ')).length);
  });
});

describe('Graph client', () => {
  it.each([429, 503, 504] as const)('retries %i answers after the Retry-After the server asked for', async (status) => {
    const fake = await fakeGraph({
      messages: [csvMessage('one')],
      throttle: { requests: 3, status, retryAfterSeconds: 1 },
    });
    const waits: number[] = [];
    const mail = graphSource(fake, {
      retry: {
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
    });
    const result = await run(mail);
    expect(waits).toEqual([1000, 1000, 1000]);
    expect(fake.requests.filter((r) => r.status === status)).toHaveLength(3);
    expect(result.mail.attachmentsStored).toBe(1);
    expect(mail.throttled).toBe(3);
  });

  it('backs off without a Retry-After and gives up after the configured attempts', async () => {
    const fake = await fakeGraph({ messages: [csvMessage('one')], throttle: { requests: 3, status: 503 } });
    const waits: number[] = [];
    const mail = graphSource(fake, { retry: { attempts: 3, baseMs: 100, sleep: async (ms) => void waits.push(ms) } });
    const failure = await collectMessages(mail).catch((error: unknown) => error);
    // Marked transient, it leaves the stage as the TransientError the state machine retries.
    expect(failure).toMatchObject({ name: 'GraphError', transient: true, status: 503 });
    expect(asStateError(failure)).toMatchObject({ name: 'TransientError', cause: failure });
    expect(fake.requests.filter((r) => r.status === 503)).toHaveLength(3);
    expect(waits).toHaveLength(2);
    // At least the base delay, and longer each time.
    expect(waits[0]).toBeGreaterThanOrEqual(100);
    expect(waits[1]).toBeGreaterThan(waits[0] ?? 0);
    expect(mail.throttled).toBe(2);
  });

  it('explains a 403 by the mailbox and the missing Mail.Read permission', async () => {
    const fake = await fakeGraph({ permission: 'none' });
    const error = await run(graphSource(fake)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      'Microsoft Graph denied access to mailbox reports@example.com while resolving mail folder Inbox/Genesys ' +
        '(403 ErrorAccessDenied: Access is denied. Check credentials and try again.). ' +
        'The app registration 00000000-0000-0000-0000-000000000000 needs Mail.Read on this mailbox: ' +
        'an "Application Mail.Read" role assignment in Exchange RBAC for Applications whose scope includes the mailbox, ' +
        'or the Microsoft Graph application permission Mail.Read with admin consent (tenant-wide).',
    );
  });

  it('reuses its token, and renews it once when Graph rejects it', async () => {
    const fake = await fakeGraph({ messages: [csvMessage('one')] });
    const mail = graphSource(fake);
    await run(mail);
    const tokenRequests = () => fake.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length;
    expect(tokenRequests()).toBe(1);
    fake.expireTokens();
    const again = await run(mail);
    expect(again.mail.attachmentsAlreadyStored).toBe(1);
    expect(tokenRequests()).toBe(2);
    expect(fake.requests.filter((r) => r.status === 401)).toHaveLength(1);
  });

  it('asks for a new token shortly before the old one expires', async () => {
    const fake = await fakeGraph({ messages: [csvMessage('one')] });
    // Only the clock is moved: the token cache reads the time from Date.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-03-10T12:00:00Z') });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const mail = graphSource(fake);
    const tokenRequests = () => fake.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length;
    await collectMessages(mail);
    // The fake's tokens last 3599 s; five minutes before that, a new one is asked for.
    vi.setSystemTime(Date.now() + 3_599_000 - 310_000);
    await collectMessages(mail);
    expect(tokenRequests()).toBe(1);
    vi.setSystemTime(Date.now() + 20_000);
    await collectMessages(mail);
    expect(tokenRequests()).toBe(2);
    expect(fake.requests.filter((r) => r.status === 401)).toHaveLength(0);
  });

  it('names the app and tenant when the token request is refused', async () => {
    const fake = await fakeGraph({ messages: [csvMessage('one')] });
    const mail = graphSource(fake, { credential: { clientSecret: 'wrong' } });
    await expect(run(mail)).rejects.toThrow(
      /^Could not get a Microsoft Graph token for app 00000000-0000-0000-0000-000000000000 in tenant 00000000-0000-0000-0000-000000000000: invalid_client \(AADSTS7000215/,
    );
  });

  it('keeps at most four requests in flight', async () => {
    const fake = await fakeGraph({ messages: [csvMessage('one')] });
    let inFlight = 0;
    let most = 0;
    const send = globalThis.fetch;
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        return await send(input, init);
      } finally {
        inFlight--;
      }
    });
    onTestFinished(() => {
      vi.restoreAllMocks();
    });
    const mail = graphSource(fake);
    const [message] = await collectMessages(mail);
    await Promise.all(Array.from({ length: 12 }, () => mail.attachments(message?.id ?? '')));
    expect(most).toBe(4);
    expect(fake.maxInFlight).toBeLessThanOrEqual(4);
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(0);
  });

  it('refuses to send its token to a nextLink on another host', async () => {
    const fake = await fakeGraph({ messages: [csvMessage('one')] });
    const send = globalThis.fetch;
    const asked: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      asked.push(url);
      // Graph's answer, as if it pointed the next page elsewhere.
      if (url.includes('/attachments')) {
        return Response.json({ value: [], '@odata.nextLink': 'https://elsewhere.test/v1.0/next' });
      }
      return send(input, init);
    });
    onTestFinished(() => {
      vi.restoreAllMocks();
    });
    const mail = graphSource(fake);
    await expect(mail.attachments('m1')).rejects.toThrow(
      /^Refusing to send the mailbox token to https:\/\/elsewhere\.test/,
    );
    expect(asked.some((url) => url.includes('elsewhere.test'))).toBe(false);
  });
});

describe('fake Graph', () => {
  it('rejects requests without a token as Graph does', async () => {
    const fake = await fakeGraph({ messages: [] });
    const response = await fetch(`${fake.graphBaseUrl}/users/${config.mailbox.user}/mailFolders/inbox`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' },
    });
  });

  it('hides messages with only inline attachments from hasAttachments eq true, as Exchange does', async () => {
    const fake = await fakeGraph({
      messages: [
        csvMessage('inline-only', {
          attachments: [{ name: 'chart.png', contentType: 'image/png', content: Buffer.from('png'), isInline: true }],
        }),
        csvMessage('with-csv'),
      ],
    });
    const messages = await collectMessages(graphSource(fake));
    expect(messages.map((m) => m.internetMessageId)).toEqual(['<with-csv@mypurecloud.com>']);
  });
});

describe('collect from the agent inbox', () => {
  const push = (name: string, body: string, metadata?: Record<string, string>) =>
    h.put(`${config.agentInbox.prefix}${name}`, body, metadata);

  it('takes files whose export time lies in the day and its grace period', async () => {
    const dials = `${dialsHeader},,,,,,,,,,,,,,,\n`;
    await push('Dials__2026-03-09_1400.csv', dials);
    await push('Dials__2026-03-08_1400.csv', `${dials}\n`);
    await push('ACQ__2026-03-10_0100.csv', acqHeader);
    await push('ACQ__2026-03-10_0300.csv', `${acqHeader}\n`);
    await push('RESC-from-operator.csv', `${acqHeader}\n\n`, { 'exported-at': '2026-03-09T15:00:00-05:00' });
    await push('export (4).csv', ibCallsCsv, { 'exported-at': '2026-03-09T20:00:00Z' });
    await push('notes__2026-03-09_1200.txt', 'call back Mrs. Smith');

    const result = await run(undefined);
    expect(result.mail.agentFiles).toBe(4);
    expect(
      result.files.map((f) => ({ type: f.type, name: f.attachmentName, exportedAt: f.exportedAt, origin: f.origin })),
    ).toEqual([
      // 01:00 the next morning, inside the 120-minute grace period.
      { type: 'ACQ', name: 'ACQ__2026-03-10_0100.csv', exportedAt: '2026-03-10T06:00:00.000Z', origin: 'agent' },
      // Told by its header; same export time as the next one, so ordered by key.
      { type: 'IB_Calls', name: 'export (4).csv', exportedAt: '2026-03-09T20:00:00.000Z', origin: 'agent' },
      // exported-at metadata, in any ISO form.
      { type: 'RESC', name: 'RESC-from-operator.csv', exportedAt: '2026-03-09T20:00:00.000Z', origin: 'agent' },
      // 14:00 CDT
      { type: 'Dials', name: 'Dials__2026-03-09_1400.csv', exportedAt: '2026-03-09T19:00:00.000Z', origin: 'agent' },
    ]);
    expect(result.mail.ignored).toEqual([
      {
        messageId: 'inbox/agent/notes__2026-03-09_1200.txt',
        subject: '',
        reason: 'notes__2026-03-09_1200.txt: not a CSV file, a zip or an email',
        severity: 'intentional',
      },
    ]);
    const dialsFile = result.files.find((f) => f.type === 'Dials');
    expect(dialsFile?.messageId).toBe('inbox/agent/Dials__2026-03-09_1400.csv');
    expect(dialsFile?.key).toBe(rawKey(date, 'Dials', sha256(dials)));
    expect(Buffer.from(await objectBytes(dialsFile?.key ?? '')).toString()).toBe(dials);

    // The inbox is left as it is; a rerun finds everything stored already.
    const again = await run(undefined);
    expect(again.mail.agentFiles).toBe(4);
    expect(again.files).toEqual(result.files);
    expect(await storedKeys(config.agentInbox.prefix)).toHaveLength(7);
  });

  it('takes only the requested types from the inbox', async () => {
    await push('Dials__2026-03-09_1400.csv', dialsHeader);
    await push('ACQ__2026-03-09_1400.csv', acqHeader);
    const result = await run(undefined, { date, reports: ['ACQ'] });
    expect(result.files.map((f) => f.type)).toEqual(['ACQ']);
    expect(await storedKeys()).toHaveLength(1);
  });
});

async function collectMessages(mail: MailSource) {
  const messages = [];
  for await (const message of mail.messages({ start: '2026-03-09T05:00:00Z', end: '2026-03-10T07:00:00Z' })) {
    messages.push(message);
  }
  return messages;
}
