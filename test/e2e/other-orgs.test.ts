import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IgnoredMessage, RowCounts } from '../../functions/common/contracts.ts';
import { logger } from '../../functions/common/observability.ts';
import { type ExecutionSummary, runLocally } from '../../local/local-run.ts';
import { writeSampleMailbox } from '../../local/sample-day.ts';
import { config, date, dialsHeader, genesys, mime, useHarness } from '../collect/harness.ts';

/**
 * Exports as other Genesys organisations mail them: other regions' senders and display names,
 * forwarded and localized subjects, names with spaces and other date formats, a zip, an
 * attached email, a decimal-comma file; and mail that only looks like theirs. Each message
 * ends stored as its export type or listed with its reason, whether that was meant, and what
 * would collect it.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const now = () => Date.parse('2026-03-10T15:00:00Z');
const ibHeader =
  'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle,Avg Handle\n';
const productivityHeader =
  'Interval Start,Interval End,Interval Complete,Filters,Agent Id,Agent Name,Logged In,On Queue,Idle,Off Queue,Interacting\n';
const acqHeader = 'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle\n';
const agent = (n: number) => `00000000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
const hh = (hour: number) => String(hour).padStart(2, '0');
const ibCsv = (n: number, hour: number) =>
  `${ibHeader}2026-03-09 ${hh(hour)}:00:00,2026-03-09 ${hh(hour + 1)}:00:00,1.0,Queue: Sales,voice,${agent(n)},Agent ${n},3.0,120000.5\n`;
const dialsRow = (n: number) =>
  `2026-03-09 14:00:00,2026-03-09 15:00:00,1.0,Campaign: Renewals,voice,${agent(n)},Agent ${n},2.0,60000.0,40000.0,5000.0,15000.0,120000.0,80000.0,10000.0,30000.0\n`;

interface CorpusMessage {
  id: string;
  mail: Parameters<typeof mime>[0];
  /** The export type it is stored as, or how it is reported. */
  expect: { type: string } | { severity: 'intentional' | 'suspicious'; reason: RegExp; fix?: string };
}

async function corpus(): Promise<CorpusMessage[]> {
  const sent = (hour: number) => new Date(`2026-03-09T${hh(hour)}:00:00Z`);
  const original = await mime({
    from: { name: 'Genesys Cloud', address: genesys },
    to: config.mailbox.user,
    subject: 'Scheduled export: IB_Calls',
    date: sent(17),
    messageId: '<original@mypurecloud.com>',
    attachments: [{ filename: 'IB_Calls_2026-03-09_1200.csv', content: ibCsv(6, 12) }],
  });
  const message = (id: string, hour: number, fields: Parameters<typeof mime>[0]): Parameters<typeof mime>[0] => ({
    to: config.mailbox.user,
    date: sent(hour),
    messageId: `<${id}@corpus.example>`,
    text: 'Your scheduled export ran.',
    ...fields,
  });
  return [
    {
      id: 'ireland-localized',
      mail: message('ireland-localized', 15, {
        from: { name: 'Genesys Cloud (EU)', address: 'no-reply@mypurecloud.ie' },
        subject: 'Rapport planifié : IB_Calls',
        attachments: [{ filename: 'IB Calls 09.03.2026 10h00.csv', content: ibCsv(1, 9) }],
      }),
      expect: { type: 'IB_Calls' },
    },
    {
      id: 'zurich-forwarded-case',
      mail: message('zurich-forwarded-case', 16, {
        from: { name: 'Genesys Cloud Berichte', address: 'Reports@EUC2.Pure.Cloud' },
        subject: 'WG: Geplanter Export: Dials',
        attachments: [{ filename: 'Dials 2026-03-09 14.00.csv', content: `${dialsHeader}${dialsRow(2)}` }],
      }),
      expect: { type: 'Dials' },
    },
    {
      id: 'seoul-zip',
      mail: message('seoul-zip', 17, {
        from: 'noreply@apne2.pure.cloud',
        subject: 'TR: Export planifié : Productivity',
        attachments: [
          {
            filename: 'Productivity (9 mars 2026).zip',
            content: Buffer.from(
              zipSync({
                'Productivity.csv': strToU8(
                  `${productivityHeader}2026-03-09 11:00:00,2026-03-09 12:00:00,1.0,Queue: Sales,${agent(3)},Agent 3,3600000.0,3000000.0,600000.0,600000.0,2400000.0\n`,
                ),
              }),
            ),
          },
        ],
      }),
      expect: { type: 'Productivity' },
    },
    {
      // Typed by its header (its name says nothing); reading the decimal comma is ingest's part.
      id: 'frankfurt-decimal-comma',
      mail: message('frankfurt-decimal-comma', 18, {
        from: 'noreply@mypurecloud.de',
        subject: 'Geplanter Export: Dials',
        attachments: [
          {
            filename: 'export_09-03-2026.csv',
            content: `${dialsHeader.replaceAll(',', ';')}${dialsRow(4).replaceAll(',', ';').replace(';2.0;', ';2,0;')}`,
          },
        ],
      }),
      expect: { type: 'Dials' },
    },
    {
      id: 'subdomain-reply',
      mail: message('subdomain-reply', 19, {
        from: 'noreply@mail.mypurecloud.com',
        subject: 'RE: Scheduled export: ACQ',
        attachments: [
          {
            filename: 'ACQ 2026_03_09 1500.csv',
            content: `${acqHeader}2026-03-09 14:00:00,2026-03-09 15:00:00,1.0,Queue: ACQ,voice,${agent(5)},Agent 5,7.0\n`,
          },
        ],
      }),
      expect: { type: 'ACQ' },
    },
    {
      id: 'forwarded-by-a-person',
      mail: message('forwarded-by-a-person', 20, {
        from: { name: 'Pat Supervisor', address: 'supervisor@contoso.example' },
        subject: 'FW: Scheduled export: IB_Calls',
        attachments: [{ filename: 'Scheduled export.eml', content: original, contentType: 'message/rfc822' }],
      }),
      expect: {
        severity: 'suspicious',
        reason:
          /sender supervisor@contoso\.example is not accepted \(mailbox\.senders\), yet it sends what looks like an export/,
        fix: 'add supervisor@contoso.example or @contoso.example to mailbox.senders',
      },
    },
    {
      // Reply-To never decides.
      id: 'reply-to-genesys',
      mail: message('reply-to-genesys', 21, {
        from: { name: 'Genesys Cloud', address: 'reports@example.org' },
        replyTo: 'no-reply@mypurecloud.com',
        subject: 'Scheduled export: RESC',
        attachments: [{ filename: 'RESC_2026-03-09_1100.csv', content: acqHeader }],
      }),
      expect: {
        severity: 'suspicious',
        reason: /^RESC_2026-03-09_1100\.csv: sender reports@example\.org is not accepted/,
        fix: 'add reports@example.org or @example.org to mailbox.senders',
      },
    },
    {
      // Nor does a display name that reads like an accepted address.
      id: 'display-name-genesys',
      mail: message('display-name-genesys', 22, {
        from: { name: 'no-reply@mypurecloud.com', address: 'billing@example.net' },
        subject: 'Scheduled export: QCBS',
        attachments: [{ filename: 'QCBS_2026-03-09_1200.csv', content: acqHeader }],
      }),
      expect: {
        severity: 'suspicious',
        reason: /sender billing@example\.net is not accepted/,
        fix: 'add billing@example.net or @example.net to mailbox.senders',
      },
    },
    {
      // Named like nothing: its header line tells it is an export.
      id: 'unknown-sender-header',
      mail: message('unknown-sender-header', 15, {
        from: 'reports@example.org',
        subject: 'Hourly numbers',
        attachments: [{ filename: 'export.csv', content: ibCsv(7, 10) }],
      }),
      expect: {
        severity: 'suspicious',
        reason: /^export\.csv: sender reports@example\.org is not accepted \(mailbox\.senders\), yet/,
      },
    },
    {
      // A zip named like nothing: its first entry tells it is an export.
      id: 'unknown-sender-zip',
      mail: message('unknown-sender-zip', 16, {
        from: 'reports@example.org',
        subject: 'Hourly numbers',
        attachments: [
          { filename: 'numbers.zip', content: Buffer.from(zipSync({ 'Dials 2026-03-09.csv': strToU8(dialsHeader) })) },
        ],
      }),
      expect: { severity: 'suspicious', reason: /^numbers\.zip: sender reports@example\.org is not accepted/ },
    },
    {
      id: 'newsletter',
      mail: message('newsletter', 17, {
        from: { name: 'Genesys', address: 'news@genesys.com' },
        subject: 'Genesys Cloud: what is new in March',
        html: '<p>New this month</p><img src="cid:banner">',
        attachments: [
          { filename: 'banner.png', content: Buffer.from('png'), cid: 'banner' },
          { filename: 'release-notes.pdf', content: Buffer.from('%PDF-1.4') },
        ],
      }),
      expect: {
        severity: 'intentional',
        reason: /^sender news@genesys\.com is not accepted \(mailbox\.senders\); nothing it sent looks like an export$/,
      },
    },
    {
      id: 'attendee-list',
      mail: message('attendee-list', 18, {
        from: 'events@contoso.example',
        subject: 'Webinar attendees',
        attachments: [{ filename: 'attendees.csv', content: 'Name,Email\nPat,pat@contoso.example\n' }],
      }),
      expect: { severity: 'intentional', reason: /nothing it sent looks like an export/ },
    },
    {
      id: 'unknown-header',
      mail: message('unknown-header', 19, {
        from: 'no-reply@mypurecloud.com',
        subject: 'Scheduled export: Queue Activity',
        attachments: [
          { filename: 'Queue Activity 2026-03-09.csv', content: 'Queue Name,Offered,Answered\nSales,10,9\n' },
        ],
      }),
      expect: {
        severity: 'suspicious',
        reason: /^Queue Activity 2026-03-09\.csv: neither its name nor its header is one of the configured exports$/,
        fix: 'if it is an export, add its type to exports[] or name it in an exports[].match.attachment',
      },
    },
  ];
}

async function writeCorpus(dir: string, messages: CorpusMessage[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const m of messages) await writeFile(join(dir, `${m.id}.eml`), await mime(m.mail));
}

function reconciles(c: RowCounts): boolean {
  return c.read === c.inserted + c.updated + c.unchanged + c.stale + c.rejected;
}

describe('other organisations’ mail, through collect', () => {
  const h = useHarness();
  let messages: CorpusMessage[];

  beforeAll(async () => {
    messages = await corpus();
  });

  async function collectCorpus(overrides = {}) {
    for (const m of messages) {
      await h.put(`${config.mailbox.savedMailPrefix}corpus/${m.id}.eml`, await mime(m.mail));
    }
    return h.run(undefined, { date }, overrides);
  }

  it('stores each export as its type and reports every other message with its reason and fix', async () => {
    const result = await collectCorpus();
    const byMessage = new Map<string, IgnoredMessage[]>();
    for (const ignored of result.mail.ignored) {
      byMessage.set(ignored.messageId, [...(byMessage.get(ignored.messageId) ?? []), ignored]);
    }
    for (const m of messages) {
      const messageId = `<${m.id}@corpus.example>`;
      const stored = result.files.filter((f) => f.messageId === messageId);
      const ignored = byMessage.get(messageId) ?? [];
      if ('type' in m.expect) {
        expect(
          stored.map((f) => f.type),
          m.id,
        ).toEqual([m.expect.type]);
        expect(ignored, m.id).toEqual([]);
      } else {
        expect(stored, m.id).toEqual([]);
        expect(ignored, m.id).toHaveLength(1);
        expect(ignored[0]?.reason, m.id).toMatch(m.expect.reason);
        expect(ignored[0]?.severity, m.id).toBe(m.expect.severity);
        if (m.expect.fix) expect(ignored[0]?.fix, m.id).toBe(m.expect.fix);
      }
    }
    // None is left out silently: every message seen is matched or listed.
    const exports = messages.filter((m) => 'type' in m.expect).length;
    expect(result.mail).toMatchObject({
      messagesSeen: messages.length,
      messagesMatched: exports,
      messagesIgnored: messages.length - exports,
    });
    expect(result.mail.ignored).toHaveLength(messages.length - exports);
  });

  it('collects the forwarded export once its forwarder is accepted, dated by the original', async () => {
    const withForwarder = {
      ...config,
      mailbox: { ...config.mailbox, senders: [...config.mailbox.senders, 'supervisor@contoso.example'] },
    };
    const result = await collectCorpus({ config: withForwarder });
    const forwarded = result.files.filter((f) => f.messageId === '<forwarded-by-a-person@corpus.example>');
    expect(forwarded.map((f) => [f.type, f.attachmentName, f.exportedAt])).toEqual([
      ['IB_Calls', 'Scheduled export.eml/IB_Calls_2026-03-09_1200.csv', '2026-03-09T17:00:00.000Z'],
    ]);
  });
});

describe('other organisations’ mail, through the whole local pipeline', () => {
  let dir: string;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    dir = await mkdtemp(join(tmpdir(), 'charlie-other-orgs-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('gives the exports’ rows and the grouped reasons of the rest', async () => {
    const messages = await corpus();
    await writeCorpus(join(dir, 'corpus'), messages);
    const run = await runLocally({
      config,
      date,
      mailboxDir: join(dir, 'corpus'),
      deliver: false,
      outDir: join(dir, 'out'),
      now,
    });
    expect(run.execution.error).toBeUndefined();
    const summary = run.summary as ExecutionSummary;
    const rows = Object.fromEntries(summary.types.map((t) => [t.type, t.rows]));
    expect(rows).toMatchObject({ IB_Calls: 1, Productivity: 1, ACQ: 1, QCBS: 0, RESC: 0 });
    // The decimal-comma file is collected and typed Dials; how its numbers read is ingest's part.
    expect(summary.types.find((t) => t.type === 'Dials')?.files).toBe(2);
    expect(rows.Dials).toBeGreaterThanOrEqual(1);
    for (const type of summary.types) expect(reconciles(type.ingest), type.type).toBe(true);

    const groups = summary.mail.ignored;
    expect(groups.reduce((sum, g) => sum + g.count, 0)).toBe(messages.filter((m) => !('type' in m.expect)).length);
    expect(groups[0]?.severity).toBe('suspicious');
    expect(groups).toContainEqual(
      expect.objectContaining({
        reason: 'sender reports@example.org is not accepted (mailbox.senders), yet it sends what looks like an export',
        severity: 'suspicious',
        fix: 'add reports@example.org or @example.org to mailbox.senders',
        count: 3,
      }),
    );
    expect(groups.at(-1)?.severity).toBe('intentional');
  });
});

describe('a first run on a folder of mail, as npm start runs it', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlie-first-run-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  /** A generated day mailed by `sender`, run through local/run.ts with the shipped configuration. */
  async function firstRun(sender: string) {
    const mailbox = join(dir, sender);
    const mailedBy = { ...config, mailbox: { ...config.mailbox, senders: [sender] } };
    await writeSampleMailbox({ config: mailedBy, date, dir: mailbox });
    const out = join(dir, `${sender}-out`);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(root, 'node_modules/tsx/dist/cli.mjs'),
        'local/run.ts',
        '--mailbox',
        mailbox,
        '--date',
        date,
        '--no-deliver',
        '--out',
        out,
      ],
      { cwd: root, timeout: 240_000 },
    );
    return { stdout, workbook: join(out, `Charlie-Intraday-${date}.xlsx`) };
  }

  it('gives a full workbook from a Genesys address the configuration does not name', async () => {
    expect(config.mailbox.senders).not.toContain('noreply@mypurecloud.com');
    const { stdout, workbook } = await firstRun('noreply@mypurecloud.com');
    expect(stdout).not.toContain('Missing exports');
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(workbook);
    for (const spec of config.exports) {
      expect(book.getWorksheet(spec.tab)?.actualRowCount ?? 0, spec.tab).toBeGreaterThan(1);
    }
  }, 300_000);

  it('prints the grouped reason and the fix for mail from anyone else', async () => {
    const { stdout } = await firstRun('reports@example.org');
    expect(stdout).toMatch(
      /\d+ ignored \(suspicious\) — sender reports@example\.org is not accepted \(mailbox\.senders\), yet it sends what looks like an export → add reports@example\.org or @example\.org to mailbox\.senders/,
    );
    expect(stdout).toContain('Missing exports');
  }, 300_000);
});
