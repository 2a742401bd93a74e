import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { BuildResult, DayKpis, HourlyVolume, RowCounts } from '../../functions/common/contracts.ts';
import {
  barWidths,
  composeReportMessage,
  executionConsoleUrl,
  type ReportMessage,
} from '../../functions/deliver/message.ts';

const config = loadConfigFile();
const zero: RowCounts = { read: 0, inserted: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 0 };

function result(hourly: HourlyVolume[] | undefined, kpis?: DayKpis): BuildResult {
  return {
    workbook: { bucket: 'reports', key: 'reports/2026-03-09/Charlie-Intraday-2026-03-09.xlsx', bytes: 1000 },
    types: config.exports.map((spec) => ({ type: spec.type, tab: spec.tab, rows: 10, files: 1, ingest: zero })),
    totals: zero,
    missing: [],
    ...(hourly ? { hourly } : {}),
    ...(kpis ? { kpis } : {}),
  };
}

async function compose(report: ReportMessage['report'], date = '2026-03-09'): Promise<{ text: string; html: string }> {
  const message: ReportMessage = {
    date,
    kind: 'daily',
    report,
    executionId: 'arn:aws:states:us-east-1:000000000000:execution:charlie-daily-report:daily',
    link: 'https://links.example.com/?t=abc.def',
    linkExpiresAt: new Date('2026-03-17T12:00:00Z'),
    sentAt: new Date('2026-03-10T12:00:00Z'),
  };
  const parsed = await simpleParser((await composeReportMessage(config, message)).raw);
  return { text: parsed.text ?? '', html: typeof parsed.html === 'string' ? parsed.html : '' };
}

/** A day shaped like a contact center's: quiet night, busy afternoon, and a silent hour at lunch. */
const day: HourlyVolume[] = Array.from({ length: 24 }, (_, hour) => {
  const quiet = hour < 7 || hour > 19 || hour === 12;
  const volumes: Record<string, number> = quiet
    ? {}
    : { IB_Calls: hour * 10, Dials: hour * 3, Productivity: 25, Campaign_Interactions: hour % 3 };
  return { hour, volumes };
});

/** The chart's rows in the HTML: the hour, its bar's segment widths, and the numbers beside it. */
function htmlChartRows(html: string): { hour: string; widths: number[]; numbers: number[] }[] {
  const rows = [
    ...html.matchAll(/<tr><td width="44"[^>]*>(\d\d:00(?: C[DS]T)?)<\/td>(.*?)<\/tr><\/table><\/td>(.*?)<\/tr>/g),
  ];
  return rows.map(([, hour = '', bar = '', numbers = '']) => ({
    hour,
    widths: [...bar.matchAll(/<td width="(\d+)%" height="12" bgcolor=/g)].map((m) => Number(m[1])),
    numbers: [...numbers.matchAll(/>(\d+)<\/td>/g)].map((m) => Number(m[1])),
  }));
}

describe('the report message', () => {
  it('draws the hours from the first to the last with volume, the silent ones included, as table bars', async () => {
    const { html } = await compose(result(day));
    const rows = htmlChartRows(html);
    expect(rows.map((r) => r.hour)).toEqual(
      ['07', '08', '09', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19'].map((h) => `${h}:00`),
    );
    // IB Calls, Dials, Productivity, Campaign Interactions: the types with any volume, in workbook order.
    expect(rows.find((r) => r.hour === '12:00')).toEqual({ hour: '12:00', widths: [], numbers: [0, 0, 0, 0] });
    expect(rows.find((r) => r.hour === '19:00')?.numbers).toEqual([190, 57, 25, 1]);
    for (const row of rows) {
      const total = row.numbers.reduce((sum, n) => sum + n, 0);
      // The busiest hour fills the bar; the others are in proportion (whole percent).
      expect(row.widths.reduce((sum, w) => sum + w, 0)).toBe(Math.round((total / 273) * 100));
    }
  });

  it('uses only markup that mail clients keep: tables, widths, colours and inline styles', async () => {
    const { html } = await compose(result(day, { callsHandled: 10 }));
    expect(html).not.toMatch(/<script|<img|<style|<link|<svg|<canvas|<iframe|<form/i);
    expect(html).not.toMatch(/background-image|url\(|display:\s*(flex|grid)|position:|@media|javascript:/i);
    expect(html).toContain('role="presentation"');
  });

  it('carries the same numbers in the text part as in the HTML chart', async () => {
    const { text, html } = await compose(result(day));
    const textRows = text
      .split('\n')
      .filter((line) => /^\d\d:00 /.test(line))
      .map((line) => {
        const [hour = '', ...cells] = line.split(/ +/);
        return { hour, numbers: cells.filter((c) => /^\d+$/.test(c)).map(Number) };
      });
    expect(textRows).toEqual(htmlChartRows(html).map(({ hour, numbers }) => ({ hour, numbers })));
    expect(text).toMatch(/^Hour +IB Calls +Dials +Productivity +Campaign Interactions$/m);
    // The busiest hour's bar is 30 characters; the silent hour has none.
    expect(text).toMatch(/^19:00 +190 +57 +25 +1 +#{30}$/m);
    expect(text).toMatch(/^12:00 +0 +0 +0 +0$/m);
    // The HTML names the number columns in its legend and on each column's colour.
    for (const label of ['IB Calls', 'Dials', 'Productivity', 'Campaign Interactions']) {
      expect(html).toContain(`title="${label}"`);
      expect(html).toContain(`&nbsp;${label}</span>`);
    }
  });

  it('leaves the chart out when there is no volume, or no hourly figures at all', async () => {
    for (const hourly of [undefined, [], [{ hour: 9, volumes: { IB_Calls: 0 } }]]) {
      const { text, html } = await compose(result(hourly));
      expect(text).not.toContain('Volume by hour');
      expect(html).not.toContain('Volume by hour');
    }
  });

  it('shows the KPIs the build computed, formatted, and none of those it could not', async () => {
    const { text, html } = await compose(
      result(undefined, {
        dialsHandled: 560,
        avgHandleMs: 3_723_400,
        holds: 427,
        avgHoldMs: 82_000,
        avgAcwMs: 59_600,
        interactingPct: 55.25,
      }),
    );
    expect(text).toMatch(/^Dials handled +560$/m);
    // 1 h 2 min 3.4 s; 59.6 s rounds to a minute.
    expect(text).toMatch(/^Average handle time \(calls and dials\) +1:02:03$/m);
    // Named for what they are: hold is averaged per hold, over the dials' 427 holds.
    expect(text).toMatch(/^Holds \(dials\) +427$/m);
    expect(text).toMatch(/^Average hold time, per hold \(dials\) +1:22$/m);
    expect(text).toMatch(/^Average after-call work \(dials\) +1:00$/m);
    expect(text).toMatch(/^Interacting, of logged-in time +55\.3%$/m);
    expect(html).toContain('Average hold time, per hold (dials)');
    for (const body of [text, html]) {
      expect(body).toContain('Key figures');
      expect(body).not.toContain('Calls handled');
      expect(body).not.toContain('On queue');
    }
    const none = await compose(result(undefined, {}));
    expect(none.text).not.toContain('Key figures');
    expect(none.html).not.toContain('Key figures');
  });
});

describe('the chart on the days the clocks change', () => {
  const volumes = (calls: number) => ({ IB_Calls: calls });

  it('shows the repeated hour of 2026-11-01 as two rows, 01:00 CDT and 01:00 CST', async () => {
    const fallBack: HourlyVolume[] = [
      { hour: 0, volumes: volumes(4) },
      { hour: 1, zone: 'CDT', volumes: volumes(3) },
      { hour: 1, zone: 'CST', volumes: volumes(5) },
      { hour: 2, volumes: volumes(2) },
    ];
    const { text, html } = await compose(result(fallBack), '2026-11-01');
    expect(htmlChartRows(html).map(({ hour, numbers }) => [hour, ...numbers])).toEqual([
      ['00:00', 4],
      ['01:00 CDT', 3],
      ['01:00 CST', 5],
      ['02:00', 2],
    ]);
    expect(text).toMatch(/^01:00 CDT +3 +#{18}$/m);
    expect(text).toMatch(/^01:00 CST +5 +#{30}$/m);
  });

  it('has no 02:00 on 2026-03-08, when the clocks skip it', async () => {
    const springForward: HourlyVolume[] = [
      { hour: 1, volumes: volumes(4) },
      { hour: 3, volumes: volumes(6) },
    ];
    const { html } = await compose(result(springForward), '2026-03-08');
    expect(htmlChartRows(html).map(({ hour, numbers }) => [hour, ...numbers])).toEqual([
      ['01:00', 4],
      ['03:00', 6],
    ]);
  });
});

describe('bar widths', () => {
  it('are whole percent of the busiest hour, rounded so that they never add up to more than 100', () => {
    expect(barWidths([1, 1, 1], 3)).toEqual([33, 34, 33]);
    expect(barWidths([0, 5, 0], 10)).toEqual([0, 50, 0]);
    expect(barWidths([2, 2], 8)).toEqual([25, 25]);
    for (let a = 0; a <= 7; a++) {
      for (let b = 0; b <= 7; b++) {
        const widths = barWidths([a, b, 7 - Math.max(a, b)], 14);
        expect(widths.every((w) => w >= 0)).toBe(true);
        expect(widths.reduce((sum, w) => sum + w, 0)).toBeLessThanOrEqual(100);
      }
    }
  });
});

describe('the execution console link', () => {
  it('opens the execution in the region its ARN names, and is left out for anything else', () => {
    const arn = 'arn:aws:states:ap-southeast-2:123456789012:execution:charlie-daily-report:abc';
    expect(executionConsoleUrl(arn)).toBe(
      `https://ap-southeast-2.console.aws.amazon.com/states/home?region=ap-southeast-2#/v2/executions/details/${arn}`,
    );
    expect(executionConsoleUrl('local-run')).toBeUndefined();
  });

  it('keeps the attention block short: a handful of lines per kind, the rest counted, text escaped in HTML', async () => {
    const files = Array.from({ length: 10 }, (_, i) => ({
      file: `<file ${i}>.csv`,
      type: 'Dials',
      reason: 'the file is empty',
    }));
    const reasons = Array.from({ length: 7 }, (_, i) => ({ reason: `Handle: problem ${i}`, count: 10 - i }));
    const { text, html } = await compose({
      ...result(undefined),
      late: ['IB_Calls'],
      problems: {
        rejectedFiles: { count: 12, listed: files },
        rowRejects: { count: 100, reasons, reasonsNotListed: 3 },
        suspiciousIgnored: { count: 0, listed: [] },
      },
      quarantined: { count: 0, listed: [] },
    });
    const block = text.slice(text.indexOf('NEEDS ATTENTION'), text.indexOf('Details:'));
    expect(block.split('\n').filter((line) => line.startsWith('    '))).toEqual([
      ...files.slice(0, 5).map((f) => `    ${f.file} (Dials): the file is empty`),
      '    … and 7 more',
      ...reasons.slice(0, 5).map((r) => `    ${r.count} × ${r.reason}`),
      // 100 rows less those of the five reasons shown (10 + 9 + 8 + 7 + 6).
      '    60 × other reasons',
    ]);
    expect(block).toContain('- 12 files rejected whole');
    expect(block).toContain('- Late exports (no recent data): IB Calls');
    expect(block).not.toContain('quarantined');
    expect(html).toContain('<li>&lt;file 0&gt;.csv (Dials): the file is empty</li>');
    expect(html).toContain('<li>… and 7 more</li>');
    expect(html).toContain('<li>60 × other reasons</li>');
  });
});
