import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import { acceptedAddress, acceptsSender } from '../../functions/common/exports.ts';
import { type FakeMessage, loadMailboxDir } from '../../local/graph-server.ts';
import { type SampleEmail, writeSampleInbox, writeSampleMailbox } from '../../local/sample-day.ts';

const config = loadConfigFile();
const date = '2026-03-09';

const intervalHeader = 'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle';
const headers: Record<string, string> = {
  IB_Calls: `${intervalHeader},Avg Handle`,
  QCBS: intervalHeader,
  ACQ: intervalHeader,
  RESC: intervalHeader,
  Dials: `${intervalHeader},Avg Handle,Avg Talk,Avg Hold,Avg ACW,Total Handle,Total Talk,Total Hold,Total ACW`,
  Productivity:
    'Interval Start,Interval End,Interval Complete,Filters,Agent Id,Agent Name,Logged In,On Queue,Idle,Off Queue,Interacting',
  Campaign_Interactions:
    'Full Export Completed,Partial Result Timestamp,Filters,Users,Date,Initial Direction,First Queue',
};

const datetime = /^2026-03-(09|10) \d{2}:\d{2}:\d{2}$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msFloat = /^\d+\.\d+$/;

interface ParsedExport {
  type: string;
  name: string;
  email: SampleEmail;
  message: FakeMessage;
  bytes: Buffer;
  text: string;
  lines: string[];
  rows: string[][];
  padding: number;
}

let dir: string;
let emails: SampleEmail[];
let messages: FakeMessage[];
let exports: ParsedExport[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'charlie-sample-test-'));
  emails = await writeSampleMailbox({ config, date, dir: join(dir, 'a') });
  messages = await loadMailboxDir(join(dir, 'a'));
  exports = emails.flatMap((email) => {
    if (!email.attachment) return [];
    const message = messageFor(email);
    const bytes = message?.attachments[0]?.content as Buffer;
    const text = bytes.toString('utf8');
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    expect(lines.pop()).toBe('');
    const cells = lines.map((line) => line.split(','));
    const padding = cells.filter((row) => row.every((cell) => cell === '')).length;
    return [
      {
        type: email.attachment.type,
        name: email.attachment.name,
        email,
        message: message as FakeMessage,
        bytes,
        text,
        lines,
        rows: cells.slice(1, cells.length - padding),
        padding,
      },
    ];
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function messageFor(email: SampleEmail): FakeMessage | undefined {
  return messages.find(
    (m) =>
      m.subject === email.subject &&
      m.receivedDateTime === graphTime(email.receivedAt) &&
      m.sentDateTime === graphTime(email.sentAt),
  );
}

function graphTime(iso: string): string {
  return iso.replace(/\.000Z$/, 'Z');
}

function sha(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

function byType(type: string): ParsedExport[] {
  return exports.filter((e) => e.type === type).sort((a, b) => a.name.localeCompare(b.name));
}

describe('the sample mailbox', () => {
  it('writes one .eml file per email, each parsed back to its message', async () => {
    const files = (await readdir(join(dir, 'a'))).filter((f) => f.endsWith('.eml')).sort();
    expect(files).toEqual(emails.map((e) => basename(e.file)).sort());
    expect(messages).toHaveLength(emails.length);
    for (const email of emails) {
      const message = messageFor(email);
      expect(message, email.file).toBeDefined();
      expect(message?.from).toBe(email.from);
      expect(message?.to).toEqual([config.mailbox.user]);
      if (email.attachment)
        expect(sha(message?.attachments[0]?.content ?? Buffer.alloc(0))).toBe(email.attachment.sha256);
    }
  });

  it('mails every type hourly from 01:00 to 23:00, plus a whole-day export after midnight', () => {
    for (const spec of config.exports) {
      const names = byType(spec.type).map((e) => e.name);
      const hourly = Array.from(
        { length: 23 },
        (_, i) => `${spec.type}_${date}_${String(i + 1).padStart(2, '0')}00.csv`,
      );
      const late = spec.type === 'IB_Calls' ? [`IB_Calls_2026-03-10_0030.csv`] : [];
      // The Dials 14:00 export is mailed twice.
      const resent = spec.type === 'Dials' ? ['Dials_2026-03-09_1400.csv'] : [];
      expect(names).toEqual([...hourly, ...resent, ...late].sort());
    }
    for (const e of exports) {
      expect(e.email.subject).toBe(`Scheduled export: ${e.type}`);
      expect(e.email.from).toBe(acceptedAddress(config.mailbox.senders));
      expect(e.message.attachments).toHaveLength(1);
    }
  });

  it('writes the exact Genesys headers, typed values and blank padding', () => {
    for (const e of exports) {
      expect(e.lines[0], e.name).toBe(headers[e.type]);
      expect(e.padding, e.name).toBeGreaterThanOrEqual(150);
      expect(e.padding, e.name).toBeLessThanOrEqual(250);
      const header = (e.lines[0] ?? '').split(',');
      for (const row of e.rows) {
        expect(row, e.name).toHaveLength(header.length);
        const cell = (name: string) => row[header.indexOf(name)] ?? '';
        if (e.type === 'Campaign_Interactions') {
          expect(cell('Full Export Completed')).toBe('YES');
          expect(cell('Partial Result Timestamp')).toBe('');
          expect(cell('Date')).toMatch(/^2026-03-09 \d{2}:\d{2}:00$/);
          expect(cell('Initial Direction')).toBe('Inbound');
          continue;
        }
        expect(cell('Interval Start')).toMatch(datetime);
        expect(cell('Interval End')).toMatch(datetime);
        expect(['0.0', '1.0']).toContain(cell('Interval Complete'));
        expect(cell('Agent Id')).toMatch(uuid);
        if (e.type === 'Productivity') {
          expect(cell('Filters')).toBe('');
          for (const name of ['Logged In', 'On Queue', 'Idle', 'Off Queue', 'Interacting'])
            expect(cell(name)).toMatch(msFloat);
        } else {
          expect(cell('Filters')).toMatch(/^Initial Direction: \w+; Queue: LLSA-/);
          expect(cell('Media Type')).toBe(e.type === 'QCBS' ? 'callback' : 'voice');
          expect(cell('Handle')).toMatch(/^[1-9]\d*\.0$/);
        }
        if (e.type === 'IB_Calls' || e.type === 'Dials') expect(cell('Avg Handle')).toMatch(msFloat);
      }
    }
    const last = byType('Dials').at(-1) as ParsedExport;
    const header = (last.lines[0] ?? '').split(',');
    const totalHandle = header.indexOf('Total Handle');
    expect(last.rows.some((row) => Number(row[totalHandle]) > 0)).toBe(true);
  });

  it('names about twelve agents, José Peña and Zoë Müller among them, in UTF-8', () => {
    const all = exports.map((e) => e.text).join('\n');
    expect(all).toContain('José Peña');
    expect(all).toContain('Zoë Müller');
    const ids = new Set(exports.filter((e) => e.type === 'IB_Calls').flatMap((e) => e.rows.map((r) => r[5])));
    expect(ids.size).toBe(12);
  });

  it('writes some files as Windows tools do, with a BOM and CRLF', () => {
    const windows = exports.filter((e) => e.bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])));
    expect(windows.length).toBeGreaterThan(0);
    expect(windows.length).toBeLessThan(exports.length);
    for (const e of windows)
      expect(
        e.text
          .split('\n')
          .slice(0, -1)
          .every((line) => line.endsWith('\r')),
      ).toBe(true);
    for (const e of exports.filter((x) => !windows.includes(x))) expect(e.text).not.toContain('\r');
  });

  it('holds the day so far: earlier intervals repeat unchanged, the current one is re-exported complete', () => {
    for (const type of ['IB_Calls', 'Productivity', 'Dials']) {
      const hourly = byType(type).filter((e) => e.name.includes(`_${date}_`));
      for (let i = 0; i + 1 < hourly.length; i++) {
        const [now, next] = [hourly[i] as ParsedExport, hourly[i + 1] as ParsedExport];
        if (now.name === next.name) continue;
        const hour = Number(/_(\d{2})00\.csv$/.exec(now.name)?.[1]);
        const currentStart = `${date} ${String(hour).padStart(2, '0')}:00:00`;
        const starts = [...new Set(now.rows.map((r) => r[0]))].sort();
        // At night the current hour may have no activity yet; by day it always has.
        if (hour >= 9 && hour < 18) expect(starts.at(-1), now.name).toBe(currentStart);
        else expect((starts.at(-1) ?? '') <= currentStart, now.name).toBe(true);
        const nextLines = new Set(next.rows.map((r) => r.join(',')));
        for (const row of now.rows) {
          if (row[0] === currentStart) {
            expect(row[2]).toBe('0.0');
            const completed = next.rows.find((r) => r[0] === row[0] && r[5] === row[5]);
            expect(completed?.[2], `${next.name} completes ${row[0]}`).toBe('1.0');
          } else {
            expect(row[2]).toBe('1.0');
            expect(nextLines.has(row.join(',')), `${next.name} repeats ${row[0]}`).toBe(true);
          }
        }
      }
    }
    // After midnight, the whole day: every interval complete.
    const late = byType('IB_Calls').find((e) => e.name === 'IB_Calls_2026-03-10_0030.csv') as ParsedExport;
    expect(late.rows.every((r) => r[2] === '1.0')).toBe(true);
    expect(new Set(late.rows.map((r) => r[0])).has(`${date} 23:00:00`)).toBe(true);
  });

  it('accumulates campaign interactions through the day', () => {
    const campaign = byType('Campaign_Interactions');
    for (let i = 0; i + 1 < campaign.length; i++) {
      const next = new Set((campaign[i + 1] as ParsedExport).rows.map((r) => r.join(',')));
      for (const row of (campaign[i] as ParsedExport).rows) expect(next.has(row.join(','))).toBe(true);
    }
    expect((campaign.at(-1) as ParsedExport).rows.length).toBeGreaterThan(20);
    expect((campaign.at(-1) as ParsedExport).rows.some((r) => r[3] === '')).toBe(true);
  });

  it('has late mail arriving out of order, a resent export and an unrelated newsletter', () => {
    const late = emails.filter((e) => Date.parse(e.receivedAt) - Date.parse(e.sentAt) > 3_600_000);
    expect(late).toHaveLength(2);
    const byReceipt = [...emails].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
    const outOfOrder = byReceipt.filter((e, i) => byReceipt.slice(i + 1).some((later) => later.sentAt < e.sentAt));
    expect(outOfOrder.length).toBeGreaterThanOrEqual(2);

    const dials = exports.filter((e) => e.name === 'Dials_2026-03-09_1400.csv');
    expect(dials).toHaveLength(2);
    expect(dials[0]?.email.attachment?.sha256).toBe(dials[1]?.email.attachment?.sha256);
    expect(dials[0]?.message.internetMessageId).not.toBe(dials[1]?.message.internetMessageId);

    const others = messages.filter((m) => !m.attachments.some((a) => a.name.endsWith('.csv')));
    expect(others).toHaveLength(1);
    const newsletter = others[0] as FakeMessage;
    expect(config.exports.some((spec) => acceptsSender(spec, newsletter.from, config))).toBe(false);
    expect(newsletter.attachments.map((a) => [a.name, a.isInline])).toEqual([
      ['banner.png', true],
      ['March-trends.pdf', false],
    ]);
  });

  it('is deterministic for a seed', async () => {
    const again = await writeSampleMailbox({ config, date, dir: join(dir, 'b') });
    expect(again.map((e) => basename(e.file))).toEqual(emails.map((e) => basename(e.file)));
    for (const [i, email] of emails.entries()) {
      expect(await readFile((again[i] as SampleEmail).file)).toEqual(await readFile(email.file));
    }
    const other = await writeSampleMailbox({ config, date, dir: join(dir, 'c'), seed: 7 });
    expect(other.map((e) => e.attachment?.sha256)).not.toEqual(emails.map((e) => e.attachment?.sha256));
  });

  it('follows the clock on the 23-hour spring-forward day', async () => {
    const dst = await writeSampleMailbox({ config, date: '2026-03-08', dir: join(dir, 'dst') });
    const ib = dst.filter((e) => e.attachment?.type === 'IB_Calls').map((e) => e.attachment?.name);
    expect(ib).toHaveLength(22 + 1);
    expect(ib).not.toContain('IB_Calls_2026-03-08_0200.csv');
    expect(ib).toContain('IB_Calls_2026-03-08_0300.csv');
  });
});

describe('the sample agent inbox', () => {
  it("writes each export once, named as the old tool did, with the mail's content", async () => {
    const files = await writeSampleInbox({ config, date, dir: join(dir, 'inbox') });
    const names = files.map((f) => basename(f));
    const distinctExports = new Set(exports.map((e) => e.name));
    expect(names).toHaveLength(distinctExports.size);
    for (const name of names) expect(name).toMatch(/^[A-Za-z_]+__2026-03-(09_(0[1-9]|1\d|2[0-3])00|10_0030)\.csv$/);
    const dials = await readFile(join(dir, 'inbox', 'Dials__2026-03-09_1400.csv'));
    expect(sha(dials)).toBe(exports.find((e) => e.name === 'Dials_2026-03-09_1400.csv')?.email.attachment?.sha256);
  });
});
