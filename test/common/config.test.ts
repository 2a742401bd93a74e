import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, genesysRegionHosts, loadConfigFile, parseConfig } from '../../functions/common/config.ts';
import {
  acceptedAddress,
  acceptsSender,
  exportSpec,
  matchFailure,
  recogniseTypeFromHeader,
  recogniseTypeFromName,
} from '../../functions/common/exports.ts';

const raw = JSON.parse(readFileSync('charlie.config.json', 'utf8'));

function withChange(change: (c: typeof raw) => void) {
  const copy = structuredClone(raw);
  change(copy);
  return copy;
}

describe('configuration', () => {
  it('accepts the shipped configuration with the seven export types', () => {
    const config = loadConfigFile();
    expect(config.exports.map((e) => e.tab)).toEqual([
      'IB Calls',
      'QCBS',
      'Dials',
      'Productivity',
      'Campaign Interactions',
      'ACQ',
      'RESC',
    ]);
    expect(config.exports.find((e) => e.type === 'Campaign_Interactions')?.firstColumn).toBe('D');
  });

  it('keeps row digests on unless configured off', () => {
    expect(loadConfigFile().rowDigests).toEqual({ enabled: true });
    expect(parseConfig(withChange((c) => (c.rowDigests = { enabled: false }))).rowDigests).toEqual({ enabled: false });
  });

  it.each([
    ['timeZone', (c: typeof raw) => (c.timeZone = 'Mars/Base'), /timeZone: unknown IANA time zone/],
    ['schedule time', (c: typeof raw) => (c.schedule.daily = '25:00'), /schedule\.daily: expected a local time/],
    [
      'identity column',
      (c: typeof raw) => (c.exports[0].identity = ['Agent Idd']),
      /exports\[0\]\.identity\[0\]: "Agent Idd"/,
    ],
    [
      'identity holding the completeness column',
      (c: typeof raw) => (c.exports[0].identity = ['Interval Start', 'Interval Complete']),
      /exports\[0\]\.identity\[1\]: holds the completeness column "Interval Complete"/,
    ],
    [
      'whole-row identity of a type with a completeness column',
      (c: typeof raw) => (c.exports[4].identity = ['*']),
      /exports\[4\]\.identity\[0\]: holds the completeness column "Full Export Completed"/,
    ],
    ['duplicate tab', (c: typeof raw) => (c.exports[1].tab = 'IB Calls'), /exports\[1\]\.tab: duplicates exports\[0\]/],
    [
      'tab differing only in case',
      (c: typeof raw) => (c.exports[2].tab = 'ib CALLS'),
      /exports\[2\]\.tab: duplicates exports\[0\] \(Excel compares tab names ignoring case\)/,
    ],
    [
      'tab too long for its continuations',
      (c: typeof raw) => (c.exports[0].tab = 'Inbound calls by agent, 15m'),
      /exports\[0\]\.tab: at most 26 characters: Excel takes 31/,
    ],
    [
      'tab with a character Excel forbids',
      (c: typeof raw) => (c.exports[0].tab = 'IB/Calls'),
      /exports\[0\]\.tab: an Excel tab name must not contain any of \[ \] : \* \? \/ \\/,
    ],
    [
      'tab with a bracket',
      (c: typeof raw) => (c.exports[0].tab = 'IB [Calls]'),
      /exports\[0\]\.tab: an Excel tab name must not contain/,
    ],
    [
      'tab quoted',
      (c: typeof raw) => (c.exports[0].tab = "'IB Calls'"),
      /exports\[0\]\.tab: an Excel tab name must not start or end with '/,
    ],
    [
      'empty tab',
      (c: typeof raw) => (c.exports[0].tab = ' '),
      /exports\[0\]\.tab: an Excel tab name must not be empty/,
    ],
    [
      'tab the workbook writes',
      (c: typeof raw) => (c.exports[3].tab = 'summary'),
      /exports\[3\]\.tab: "Summary" is a tab the workbook writes itself/,
    ],
    [
      'Problems tab',
      (c: typeof raw) => (c.exports[3].tab = 'Problems'),
      /exports\[3\]\.tab: "Problems" is a tab the workbook writes itself/,
    ],
    [
      'Excel’s own History tab',
      (c: typeof raw) => (c.exports[3].tab = 'HISTORY'),
      /exports\[3\]\.tab: "History" is a tab/,
    ],
    [
      'tab named like a continuation',
      (c: typeof raw) => (c.exports[1].tab = 'IB Calls (2)'),
      /exports\[1\]\.tab: must not end like a continuation tab/,
    ],
    ['recipient', (c: typeof raw) => (c.delivery.to = ['not an address']), /delivery\.to\[0\]/],
    [
      'pattern',
      (c: typeof raw) => (c.exports[2].match.attachment = '(['),
      /exports\[2\]\.match\.attachment: not a valid regular/,
    ],
    [
      'decimal mark',
      (c: typeof raw) => (c.exports[3].decimal = ';'),
      /exports\[3\]\.decimal: Invalid option: expected one of "auto"\|"\."\|","/,
    ],
    [
      'row digests switch',
      (c: typeof raw) => (c.rowDigests = { enabled: 'yes' }),
      /rowDigests\.enabled: Invalid input: expected boolean/,
    ],
  ])('names the bad field: %s', (_name, change, message) => {
    expect(() => parseConfig(withChange(change))).toThrow(ConfigError);
    expect(() => parseConfig(withChange(change))).toThrow(message);
  });

  it("reads each export's decimal mark as auto unless set to . or ,", () => {
    const config = parseConfig(
      withChange((c) => {
        c.exports[0].decimal = ',';
        c.exports[1].decimal = '.';
      }),
    );
    expect(config.exports.map((e) => e.decimal)).toEqual([',', '.', 'auto', 'auto', 'auto', 'auto', 'auto']);
  });

  it('takes a tab of 26 characters, any case and punctuation Excel allows', () => {
    const config = parseConfig(
      withChange((c) => {
        c.exports[0].tab = 'Inbound calls by agent (1';
        c.exports[1].tab = 'Queue callbacks — Ünïcode!';
      }),
    );
    expect(config.exports.map((e) => e.tab).slice(0, 2)).toEqual([
      'Inbound calls by agent (1',
      'Queue callbacks — Ünïcode!',
    ]);
    expect('Queue callbacks — Ünïcode!').toHaveLength(26);
  });

  it('recognises export types from names and headers', () => {
    const config = loadConfigFile();
    expect(recogniseTypeFromName('Dials__2026-03-09_1400.csv', config)?.type).toBe('Dials');
    expect(recogniseTypeFromName('IB_Calls_2026-03-09_1400.csv', config)?.type).toBe('IB_Calls');
    expect(recogniseTypeFromName('holiday-photo.png', config)).toBeUndefined();
    const dials = config.exports.find((e) => e.type === 'Dials')?.columns.map((c) => ` ${c.name.toUpperCase()} `) ?? [];
    expect(recogniseTypeFromHeader(dials, config).map((e) => e.type)).toEqual(['Dials']);
    const qcbsHeader = config.exports.find((e) => e.type === 'QCBS')?.columns.map((c) => c.name) ?? [];
    expect(recogniseTypeFromHeader(qcbsHeader, config).map((e) => e.type)).toEqual(['QCBS', 'ACQ', 'RESC']);
  });
});

describe('sender rules', () => {
  const shipped = loadConfigFile();
  const ibCalls = exportSpec(shipped, 'IB_Calls');
  const accepts = (senders: string[], sender: string | undefined, spec = ibCalls) =>
    acceptsSender(spec, sender, { mailbox: { senders } });

  it('take an exact address, a domain, or the subdomains of a domain, in any letter case', () => {
    expect(accepts(['no-reply@mypurecloud.com'], 'no-reply@mypurecloud.com')).toBe(true);
    expect(accepts(['no-reply@mypurecloud.com'], 'NoReply@MyPureCloud.com')).toBe(false);
    expect(accepts(['No-Reply@MyPureCloud.com'], 'no-reply@mypurecloud.com')).toBe(true);

    expect(accepts(['@mypurecloud.com'], 'noreply@mypurecloud.com')).toBe(true);
    expect(accepts(['@mypurecloud.com'], 'Reports@MYPURECLOUD.COM')).toBe(true);
    // A domain is that domain only: not its subdomains, not a look-alike.
    expect(accepts(['@mypurecloud.com'], 'noreply@mail.mypurecloud.com')).toBe(false);
    expect(accepts(['@mypurecloud.com'], 'noreply@mypurecloud.com.evil.example')).toBe(false);
    expect(accepts(['@mypurecloud.com'], 'noreply@evilmypurecloud.com')).toBe(false);

    // A subdomain pattern takes any depth below the domain, but not the domain itself.
    expect(accepts(['*.pure.cloud'], 'noreply@usw2.pure.cloud')).toBe(true);
    expect(accepts(['*.pure.cloud'], 'noreply@x.y.pure.cloud')).toBe(true);
    expect(accepts(['*.pure.cloud'], 'noreply@pure.cloud')).toBe(false);
    expect(accepts(['*.pure.cloud'], 'noreply@evilpure.cloud')).toBe(false);
    expect(accepts(['*.pure.cloud'], undefined)).toBe(false);
    expect(accepts([], 'anyone@example.org')).toBe(true);
  });

  it('accept by default the mail of every Genesys Cloud region, and no one else', () => {
    const config = parseConfig(withChange((c) => delete c.mailbox.senders));
    expect(config.mailbox.senders).toEqual(shipped.mailbox.senders);
    for (const host of genesysRegionHosts) {
      expect(acceptsSender(ibCalls, `noreply@${host}`, config), host).toBe(true);
      expect(acceptsSender(ibCalls, `no-reply@mail.${host}`, config), host).toBe(true);
    }
    for (const sender of ['reports@example.org', 'noreply@genesys.com', 'noreply@mypurecloud.com.example.org']) {
      expect(acceptsSender(ibCalls, sender, config), sender).toBe(false);
    }
  });

  it('keep an older configuration of exact addresses working, and let an organisation narrow them per export', () => {
    const narrowed = parseConfig(
      withChange((c) => {
        c.mailbox.senders = ['no-reply@mypurecloud.com'];
        c.exports[2].match.senders = ['@usw2.pure.cloud', 'supervisor@contoso.example'];
      }),
    );
    const narrowedDials = exportSpec(narrowed, 'Dials');
    expect(acceptsSender(ibCalls, 'no-reply@mypurecloud.com', narrowed)).toBe(true);
    expect(acceptsSender(ibCalls, 'noreply@mypurecloud.com', narrowed)).toBe(false);
    expect(acceptsSender(narrowedDials, 'no-reply@mypurecloud.com', narrowed)).toBe(false);
    expect(acceptsSender(narrowedDials, 'noreply@usw2.pure.cloud', narrowed)).toBe(true);
    expect(acceptsSender(narrowedDials, 'Supervisor@Contoso.example', narrowed)).toBe(true);
    expect(matchFailure(narrowedDials, { from: 'noreply@mypurecloud.com', subject: 'Dials' }, narrowed)).toEqual({
      reason: 'sender noreply@mypurecloud.com is not accepted for Dials (exports[Dials].match.senders)',
      fix: 'add noreply@mypurecloud.com or @mypurecloud.com to exports[Dials].match.senders',
    });
  });

  it.each([
    ['a bare domain', 'mypurecloud.com'],
    ['a pattern inside a name', 'no-reply@*.pure.cloud'],
    ['a pattern with no domain', '*.'],
    ['a domain with no dot', '@localhost'],
  ])('refuse %s, naming the three forms a rule takes', (_, rule) => {
    expect(() => parseConfig(withChange((c) => (c.mailbox.senders = [rule])))).toThrow(
      /mailbox\.senders\[0\]: expected an address \(no-reply@mypurecloud\.com\), a domain \(@mypurecloud\.com\) or \*\.domain/,
    );
  });

  it('give an address the rules accept, for mail made up to fit them', () => {
    expect(acceptedAddress(['@mypurecloud.ie'])).toBe('no-reply@mypurecloud.ie');
    expect(acceptedAddress(['*.pure.cloud'])).toBe('no-reply@mail.pure.cloud');
    expect(acceptedAddress(['reports@contoso.example'])).toBe('reports@contoso.example');
  });
});
