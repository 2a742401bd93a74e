import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceRow } from '../../functions/workbook/stats.ts';
import { writeWorkbook } from '../../functions/workbook/workbook.ts';
import { config, fixtureRows, problems, report } from './fixtures.ts';

/**
 * A real spreadsheet program reads the workbook: LibreOffice (headless, the Debian package
 * libreoffice-calc-nogui, installed by .ci/run) converts every tab to CSV as it shows the
 * cells, and prints the workbook to PDF.
 */

const run = promisify(execFile);

/** CSV of every tab, cells as shown: `,` separated, `"` quoted, UTF-8, each tab to `<name>-<tab>.csv`. */
const csvAllSheets = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1';

let dir: string;

async function soffice(convertTo: string, file = 'day.xlsx'): Promise<void> {
  // A profile of its own, so runs side by side (and a desktop LibreOffice) do not lock each other out.
  const profile = pathToFileURL(join(dir, 'profile')).href;
  await run(
    'soffice',
    [`-env:UserInstallation=${profile}`, '--headless', '--convert-to', convertTo, '--outdir', dir, join(dir, file)],
    { timeout: 120_000 },
  );
}

async function sheet(tab: string, book = 'day'): Promise<string[][]> {
  return parse(await readFile(join(dir, `${book}-${tab}.csv`), 'utf8'), { relax_column_count: true }) as string[][];
}

/** The fixture's IB Calls with one name over Excel's cell limit, as a row stored before ingest refused such values. */
async function* withLongName(type: string): AsyncGenerator<SourceRow[]> {
  for await (const batch of fixtureRows(type)) {
    yield batch.map((row) =>
      row.values['Agent Name'] === 'Zed Zimmer'
        ? { ...row, values: { ...row.values, 'Agent Name': 'Z'.repeat(40_000) } }
        : row,
    );
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'charlie-libreoffice-'));
  await writeWorkbook(config, report, (spec) => fixtureRows(spec.type), join(dir, 'day.xlsx'));
  await soffice(csvAllSheets);
  await soffice('pdf');
  // Four rows a tab (the header and three): IB Calls' five rows continue on a second tab.
  await writeWorkbook(config, report, (spec) => withLongName(spec.type), join(dir, 'continued.xlsx'), {
    maxRowsPerTab: 4,
  });
  await soffice(csvAllSheets, 'continued.xlsx');
  await writeWorkbook(config, { ...report, problems }, (spec) => fixtureRows(spec.type), join(dir, 'problems.xlsx'));
  await soffice(csvAllSheets, 'problems.xlsx');
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the workbook in LibreOffice', () => {
  it('shows the typed cells of a tab as Excel would: local times, durations, counts, flags', async () => {
    expect(await sheet('IB Calls')).toEqual([
      ['Agent Name', 'Handle', 'Avg Handle', 'Interval Start', 'Interval Complete', 'Agent Id'],
      ['alice Adams', '7', '0:02:00', '2026-03-09 08:00:00', 'TRUE', 'id-alice-adams'],
      ['Bob Brown', '1', '0:01:00', '2026-03-09 08:00:00', 'TRUE', 'id-bob-brown'],
      ['Zed Zimmer', '2', '1:02:03', '2026-03-09 08:00:00', 'TRUE', 'id-zed-zimmer'],
      ['Bob Brown', '4', '0:01:30', '2026-03-09 09:00:00', 'FALSE', 'id-bob-brown'],
      ['José Peña', '3', '', '2026-03-09 09:00:00', 'FALSE', 'id-jos-pe-a'],
    ]);
    expect(await sheet('Dials')).toEqual([
      [
        'Agent Name',
        'Handle',
        'Avg Handle',
        'Avg Talk',
        'Avg Hold',
        'Avg ACW',
        'Total Handle',
        'Total Talk',
        'Total Hold',
        'Total ACW',
      ],
      ['Bob Brown', '2', '0:05:00', '0:03:20', '0:00:50', '0:01:15', '0:10:00', '0:06:40', '0:00:50', '0:02:30'],
    ]);
    expect(await sheet('Campaign Interactions')).toEqual([
      ['', '', '', 'Users', 'Date', 'Initial Direction', 'First Queue'],
      ['', '', '', 'Carol <Chen> & Co', '2026-03-09 10:15:00', 'Outbound', ' Campaign A'],
    ]);
    expect(await sheet('ACQ')).toEqual([['Agent Name', 'Handle']]);
  });

  it('shows the Summary: run, export status, volume by hour and agent KPIs', async () => {
    const summary = await sheet('Summary');
    const row = (label: string, after = 0) => {
      const found = summary.findIndex((cells, i) => i >= after && cells[0] === label);
      if (found < 0) throw new Error(`no Summary row ${label}`);
      return { cells: summary[found] ?? [], index: found };
    };
    expect(summary[0]?.[0]).toBe('Charlie intraday report — Monday, 9 March 2026');
    expect(row('Business date').cells[1]).toBe('2026-03-09');
    expect(row('Generated at').cells[1]).toBe('2026-03-10 07:00:05');
    expect(row('Missing exports').cells[1]).toBe('ACQ, RESC');
    expect(row('IB_Calls').cells.slice(0, 6)).toEqual(['IB_Calls', 'IB Calls', '5', '2026-03-09 10:00:00', 'OK', '2']);
    expect(row('QCBS').cells[4]).toBe('Late');
    expect(row('ACQ').cells[4]).toBe('Missing');
    // Zero volumes show empty, so the busy hours stand out.
    expect(row('08:00–09:00').cells.slice(0, 9)).toEqual(['08:00–09:00', '10', '', '2', '2', '', '', '', '14']);
    expect(
      row('03:00–04:00')
        .cells.slice(1, 9)
        .every((cell) => cell === ''),
    ).toBe(true);
    const agents = row('Agent').index;
    expect(row('Bob Brown', agents).cells.slice(0, 11)).toEqual([
      'Bob Brown',
      '5',
      '2',
      '0:02:26',
      '0:03:20',
      '1',
      '0:00:50',
      '0:01:15',
      '1:00:00',
      '75.0%',
      '50.0%',
    ]);
    expect(row('All agents', agents).cells.slice(0, 4)).toEqual(['All agents', '17', '2', '0:09:42']);
    expect(row('All agents', agents).cells[9]).toBe('83.3%');
  });

  it('prints every tab, the Summary first, each fitted to the page width', async () => {
    const pdf = await readFile(join(dir, 'day.pdf'), 'latin1');
    expect(pdf.startsWith('%PDF-')).toBe(true);
    // LibreOffice bookmarks each printed tab under its name, then titles the document (UTF-16 hex); the small tabs take a page each.
    const titles = [...pdf.matchAll(/\/Title<FEFF([0-9A-F]+)>/g)].map((m) =>
      Buffer.from(m[1] ?? '', 'hex')
        .swap16()
        .toString('utf16le'),
    );
    expect(titles).toEqual(['Summary', ...config.exports.map((spec) => spec.tab), 'Charlie-Intraday-2026-03-09']);
    expect([...pdf.matchAll(/\/Type\s*\/Page[^s]/g)]).toHaveLength(config.exports.length + 1);
  });

  it('opens a type continued on a second tab, and a cell cut to Excel’s limit', async () => {
    const header = ['Agent Name', 'Handle', 'Avg Handle', 'Interval Start', 'Interval Complete', 'Agent Id'];
    const first = await sheet('IB Calls', 'continued');
    expect(first.map((cells) => cells[0]?.slice(0, 12))).toEqual([
      'Agent Name',
      'alice Adams',
      'Bob Brown',
      'ZZZZZZZZZZZZ',
    ]);
    expect(first[0]).toEqual(header);
    const cut = first[3]?.[0] ?? '';
    expect(cut).toHaveLength(32_767);
    expect(cut.endsWith('Z… [cut from 40,000 characters]')).toBe(true);
    expect(await sheet('IB Calls (2)', 'continued')).toEqual([
      header,
      ['Bob Brown', '4', '0:01:30', '2026-03-09 09:00:00', 'FALSE', 'id-bob-brown'],
      ['José Peña', '3', '', '2026-03-09 09:00:00', 'FALSE', 'id-jos-pe-a'],
    ]);
    const summary = await sheet('Summary', 'continued');
    expect(summary.find((cells) => cells[0] === 'IB_Calls')?.slice(0, 3)).toEqual([
      'IB_Calls',
      'IB Calls, continues on IB Calls (2)',
      '5',
    ]);
  });

  it('opens the Problems tab: the rejected file, the input kept aside, the mail left out and the rejected row as text', async () => {
    const rows = await sheet('Problems', 'problems');
    const under = (title: string) => rows[rows.findIndex((cells) => cells[0] === title) + 2] ?? [];
    expect(under('Rejected files').slice(0, 5)).toEqual([
      'QCBS',
      'raw/2026-03-09/QCBS/q.csv',
      '',
      '',
      'the file is empty',
    ]);
    expect(under('Quarantined inputs').slice(0, 5)).toEqual([
      'collect',
      'message:abc',
      'subject: Dials export',
      // 16:00Z is 11:00 in Chicago, on daylight time since 8 March.
      '2026-03-09 11:00:00',
      'not valid MIME',
    ]);
    expect(under('Mail left out')[0]).toBe('3');
    expect(under('Rejected rows by reason').slice(0, 2)).toEqual(['1', 'Handle: not a number']);
    // The raw row stays text: a cell that looks like a formula is not evaluated.
    expect(under('Rejected rows').slice(0, 5)).toEqual([
      'IB_Calls',
      'raw/2026-03-09/IB_Calls/a.csv',
      '7',
      'Handle: not a number: abc',
      "2026-03-09 08:00:00,'=1+2,abc",
    ]);
    expect(rows.some((cells) => cells.includes('Err:') || cells.includes('#NAME?'))).toBe(false);
  });
});
