import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { RowCounts, Run } from '../../functions/common/contracts.ts';
import { rejectedFileKeys } from '../../functions/common/keys.ts';
import type { StoredRow } from '../../functions/common/rows.ts';
import type { LocalStack } from '../../local/stack.ts';
import { IB_HEADER, type IngestHandlerOnStack, ibLine, putSource, startIngestHandler, tableRows } from './files.ts';

/**
 * A corpus of bad and awkward exports, one small file each, run through the deployed
 * Lambda handler (functions/ingest/index.ts, configured by its environment as in AWS)
 * against the local S3 and DynamoDB.
 */

const config = loadConfigFile();
const run: Run = {
  date: '2026-03-09',
  reports: config.exports.map((e) => e.type),
  force: false,
  deliver: true,
  executionId: 'arn:aws:states:us-east-1:000000000000:execution:charlie-daily-report:corpus',
  window: { start: '2026-03-09T05:00:00.000Z', end: '2026-03-10T07:00:00.000Z' },
};

let stack: LocalStack;
let ingestWithHandler: IngestHandlerOnStack['ingest'];
beforeAll(async () => {
  ({ stack, ingest: ingestWithHandler } = await startIngestHandler('corpus', config));
});
afterAll(async () => stack.stop());

const counts = (partial: Partial<RowCounts>): RowCounts => ({
  read: 0,
  inserted: 0,
  updated: 0,
  unchanged: 0,
  stale: 0,
  rejected: 0,
  blank: 0,
  ...partial,
});

async function ingest(type: string, body: string | Buffer, name = `${type}.csv`, date = '2026-03-09') {
  const file = await putSource(stack, type, body, `${date}T15:00:00Z`, name, date);
  const result = await ingestWithHandler(run, file);
  const { read, inserted, updated, unchanged, stale, rejected } = result.counts;
  expect(read).toBe(inserted + updated + unchanged + stale + rejected);
  // In time order (the sort key's lead), whatever shard each row went to.
  const rows = (await tableRows(stack, stack.resources.table))
    .filter((row) => row.source.key === file.key)
    .sort((a, b) => a.sk.localeCompare(b.sk));
  return { file, result, rows };
}

async function text(key: string): Promise<string> {
  const object = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.dataBucket, Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}

const names = (rows: Omit<StoredRow, 'ingestedAt'>[]) => rows.map((r) => r.values['Agent Name']).sort();

/** IB_Calls lines of one case: agents named after the case, so that no two cases share a row. */
const ib = (id: string, ...agents: string[]) => agents.map((name, i) => ibLine(8 + i, `${id}-${i}`, name, i + 1, 1000));

const utf16be = (text: string) => {
  const bytes = Buffer.from(text, 'utf16le');
  for (let i = 0; i < bytes.length; i += 2) bytes.writeUInt16BE(bytes.readUInt16LE(i), i);
  return Buffer.concat([Buffer.from([0xfe, 0xff]), bytes]);
};

describe('ingest corpus through the Lambda handler', () => {
  it('UTF-8 without BOM, LF', async () => {
    const { result, rows } = await ingest(
      'IB_Calls',
      `${[IB_HEADER, ...ib('u8', 'José Peña', 'Zoë Müller')].join('\n')}\n`,
    );
    expect(result.counts).toEqual(counts({ read: 2, inserted: 2 }));
    expect(names(rows)).toEqual(['José Peña', 'Zoë Müller']);
  });

  it('UTF-8 with BOM, CRLF', async () => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(`${[IB_HEADER, ...ib('bom', 'José Peña', 'Zoë Müller')].join('\r\n')}\r\n`),
    ]);
    const { result, rows } = await ingest('IB_Calls', body);
    expect(result.counts).toEqual(counts({ read: 2, inserted: 2 }));
    expect(names(rows)).toEqual(['José Peña', 'Zoë Müller']);
  });

  it("UTF-16LE with BOM, tab-separated (Excel's Unicode text)", async () => {
    const tsv = `${[IB_HEADER, ...ib('le', 'José Peña', 'Zoë Müller')].join('\r\n').replaceAll(',', '\t')}\r\n`;
    const { result, rows } = await ingest(
      'IB_Calls',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(tsv, 'utf16le')]),
    );
    expect(result.counts).toEqual(counts({ read: 2, inserted: 2 }));
    expect(names(rows)).toEqual(['José Peña', 'Zoë Müller']);
  });

  it('UTF-16BE with BOM, tab-separated', async () => {
    const tsv = `${[IB_HEADER, ...ib('be', 'José Peña', 'Zoë Müller')].join('\r\n').replaceAll(',', '\t')}\r\n`;
    const { result, rows } = await ingest('IB_Calls', utf16be(tsv));
    expect(result.counts).toEqual(counts({ read: 2, inserted: 2 }));
    expect(names(rows)).toEqual(['José Peña', 'Zoë Müller']);
  });

  it('Windows-1252 (not valid UTF-8), semicolon-separated', async () => {
    // The filter holds a semicolon, so this export quotes it.
    const lines = [IB_HEADER, ...ib('cp', 'José Peña', 'Zoë Müller', 'Liam O\u2019Brien')].map((line) =>
      line.replaceAll(',', ';').replace(/;(Initial Direction: [^;]*; Queue: [^;]*);/, ';"$1";'),
    );
    const csv = `${lines.join('\r\n')}\r\n`;
    // Latin-1 bytes, with the curly apostrophe at its Windows-1252 code 0x92.
    const bytes = Buffer.from(csv.replace('\u2019', '\u0092'), 'latin1');
    const { result, rows } = await ingest('IB_Calls', bytes);
    expect(result.counts).toEqual(counts({ read: 3, inserted: 3 }));
    expect(names(rows)).toEqual(['José Peña', 'Liam O\u2019Brien', 'Zoë Müller']);
  });

  it('quoted fields holding delimiters, quotes and line breaks; line numbers count the breaks', async () => {
    const csv = [
      IB_HEADER,
      '2026-03-09 08:00:00,2026-03-09 09:00:00,1.0,"Queue: A, B; Queue: C",voice,qt-1,"Robert ""Bob"" Peña",1.0,10',
      '2026-03-09 08:00:00,2026-03-09 09:00:00,1.0,"two\r\nlines",voice,qt-2,"Zoë",2.0,20',
      '2026-03-09 08:00:00,2026-03-09 09:00:00,1.0,Q,voice,qt-3,Bad,x,30',
    ].join('\r\n');
    const { result, rows } = await ingest('IB_Calls', csv);
    expect(result.counts).toEqual(counts({ read: 3, inserted: 2, rejected: 1 }));
    const byAgent = Object.fromEntries(rows.map((r) => [r.values['Agent Id'], r.values]));
    expect(byAgent['qt-1']).toMatchObject({ Filters: 'Queue: A, B; Queue: C', 'Agent Name': 'Robert "Bob" Peña' });
    expect(byAgent['qt-2']).toMatchObject({ Filters: 'two\r\nlines', 'Agent Name': 'Zoë' });
    expect((await text(result.rejectsKey as string)).split('\r\n')[1]).toMatch(/^5,Handle: not a number: x,/);
  });

  it('header matched ignoring case and spaces, columns in another order, extra columns kept', async () => {
    const csv = [
      ' agent name ,AGENT ID,Interval Start,interval end, Interval Complete ,filters,Media Type,Handle,Avg Handle,Skill',
      'José Peña,hd-1,2026-03-09 08:00:00,2026-03-09 09:00:00,1,Q,voice,4,900806.5,Spanish',
    ].join('\n');
    const { result, rows } = await ingest('IB_Calls', csv);
    expect(result.counts).toEqual(counts({ read: 1, inserted: 1 }));
    expect(rows[0]?.values).toEqual({
      'Interval Start': '2026-03-09T08:00:00-05:00',
      'Interval End': '2026-03-09T09:00:00-05:00',
      'Interval Complete': true,
      Filters: 'Q',
      'Media Type': 'voice',
      'Agent Id': 'hd-1',
      'Agent Name': 'José Peña',
      Handle: 4,
      'Avg Handle': 900806.5,
    });
    expect(rows[0]?.extra).toEqual({ Skill: 'Spanish' });
  });

  it('a file missing a required column is kept under rejects/ with a reason, and nothing is stored', async () => {
    const csv = [
      'Interval Start,Interval End,Agent Id,Agent Name',
      '2026-03-09 01:00:00,2026-03-09 02:00:00,mc-1,Nobody',
      ',,,',
    ].join('\n');
    const { file, result, rows } = await ingest('QCBS', csv);
    expect(result.fileRejected).toBe(
      'header lacks required column(s) of QCBS: Interval Complete, Filters, Media Type, Handle',
    );
    expect(result.counts).toEqual(counts({ read: 1, rejected: 1, blank: 1 }));
    expect(rows).toEqual([]);
    const kept = rejectedFileKeys(file.key);
    expect(await text(kept.copy)).toBe(csv);
    expect(await text(kept.reason)).toContain('header lacks required column(s) of QCBS');
  });

  it("a file whose header is another export's is rejected whole, not stored under the wrong type", async () => {
    const dials = config.exports.find((e) => e.type === 'Dials')?.columns.map((c) => c.name) ?? [];
    const csv = [dials.join(','), `2026-03-09 08:00:00,2026-03-09 09:00:00,1,Q,voice,od-1,A,1,1,1,1,1,1,1,1,1`].join(
      '\n',
    );
    const { result, rows } = await ingest('IB_Calls', csv, 'export.csv');
    expect(result.fileRejected).toBe('header is that of Dials, not of IB_Calls');
    expect(result.counts).toEqual(counts({ read: 1, rejected: 1 }));
    expect(rows).toEqual([]);
  });

  it('an empty file is rejected whole; a header alone has no rows', async () => {
    expect((await ingest('ACQ', '')).result).toMatchObject({ fileRejected: 'the file is empty', counts: counts({}) });
    const headerOnly = config.exports.find((e) => e.type === 'ACQ')?.columns.map((c) => c.name) ?? [];
    const { result } = await ingest('ACQ', `${headerOnly.join(',')}\r\n`);
    expect(result).toEqual({ key: result.key, type: 'ACQ', counts: counts({}) });
  });

  it('blank padding rows are skipped and counted apart; a last line without a line break is read', async () => {
    const csv = [IB_HEADER, ...ib('pad', 'A'), ',,,,,,,,', ',,,,,,,,', '', '  ,  ,,,,,,,', ...ib('pad2', 'B')].join(
      '\r\n',
    );
    const { result, rows } = await ingest('IB_Calls', csv);
    expect(result.counts).toEqual(counts({ read: 2, inserted: 2, blank: 4 }));
    expect(names(rows)).toEqual(['A', 'B']);
  });

  it('malformed rows are rejected one by one, with line and reason, beside the source', async () => {
    const good = (agent: string) => ibLine(8, agent, 'Good', 1, 10);
    const csv = [
      IB_HEADER,
      good('mr-1'),
      'too,few,fields',
      good('mr-2').replace(',1.0,10', ',1.5,10'),
      good('mr-3').replace(',10', ',ten'),
      good('mr-4').replace('2026-03-09 08:00:00', '2026-03-09 25:00:00'),
      good('mr-5').replace(',1.0,Initial', ',2,Initial'),
      `"never closed,${good('mr-6')}`,
      good('mr-7'),
    ].join('\n');
    const { file, result, rows } = await ingest('IB_Calls', csv);
    expect(result.counts).toEqual(counts({ read: 8, inserted: 2, rejected: 6 }));
    expect(rows.map((r) => r.values['Agent Id']).sort()).toEqual(['mr-1', 'mr-7']);
    expect(result.rejectsKey).toBe(file.key.replace(/^raw\//, 'rejects/').replace(/\.csv$/, '.rejects.csv'));
    const lines = (await text(result.rejectsKey as string)).trimEnd().split('\r\n');
    expect(lines[0]).toBe(`line,reason,${IB_HEADER}`);
    expect(lines.slice(1).map((line) => line.split(',').slice(0, 2).join(','))).toEqual([
      '3,"expected 9 fields',
      '4,Handle: not a whole number: 1.5',
      '5,Avg Handle: not a number: ten',
      '6,Interval Start: not a date and time: 2026-03-09 25:00:00',
      '7,Interval Complete: not 0 or 1: 2',
      '8,a quoted field is never closed',
    ]);
  });

  it('the spring-forward day 2026-03-08: 23 hourly intervals, offsets -06:00 then -05:00', async () => {
    const hours = [0, 1, 3, 4];
    const csv = [
      IB_HEADER,
      ...hours.map((h, i) => {
        const end = hours[i + 1] ?? 5;
        const at = (hour: number) => `2026-03-08 ${String(hour).padStart(2, '0')}:00:00`;
        return `${at(h)},${at(end)},1.0,Q,voice,spring,Ana,1.0,10`;
      }),
    ].join('\n');
    const { result, rows } = await ingest('IB_Calls', csv);
    expect(result.counts).toEqual(counts({ read: 4, inserted: 4 }));
    expect(rows.map((r) => [r.date, r.values['Interval Start'], r.values['Interval End']])).toEqual([
      ['2026-03-08', '2026-03-08T00:00:00-06:00', '2026-03-08T01:00:00-06:00'],
      ['2026-03-08', '2026-03-08T01:00:00-06:00', '2026-03-08T03:00:00-05:00'],
      ['2026-03-08', '2026-03-08T03:00:00-05:00', '2026-03-08T04:00:00-05:00'],
      ['2026-03-08', '2026-03-08T04:00:00-05:00', '2026-03-08T05:00:00-05:00'],
    ]);
  });

  it('the fall-back day 2026-11-01: 25 hourly intervals, the repeated hour stored twice', async () => {
    const lines = [IB_HEADER];
    for (
      let instant = Date.parse('2026-11-01T05:00:00Z');
      instant < Date.parse('2026-11-02T06:00:00Z');
      instant += 3_600_000
    ) {
      const local = (ms: number) =>
        new Date(ms - (ms < Date.parse('2026-11-01T07:00:00Z') ? 5 : 6) * 3_600_000)
          .toISOString()
          .slice(0, 19)
          .replace('T', ' ');
      lines.push(`${local(instant)},${local(instant + 3_600_000)},1.0,Q,voice,fall,Ana,1.0,10`);
    }
    const { result, rows } = await ingest('IB_Calls', lines.join('\n'), 'IB_Calls.csv', '2026-11-01');
    expect(result.counts).toEqual(counts({ read: 25, inserted: 25 }));
    expect(rows).toHaveLength(25);
    expect(
      rows.slice(0, 4).map((r) => [r.values['Interval Start'], r.values['Interval End'], r.sk.slice(0, 20)]),
    ).toEqual([
      ['2026-11-01T00:00:00-05:00', '2026-11-01T01:00:00-05:00', '2026-11-01T05:00:00.'],
      ['2026-11-01T01:00:00-05:00', '2026-11-01T01:00:00-06:00', '2026-11-01T06:00:00.'],
      ['2026-11-01T01:00:00-06:00', '2026-11-01T02:00:00-06:00', '2026-11-01T07:00:00.'],
      ['2026-11-01T02:00:00-06:00', '2026-11-01T03:00:00-06:00', '2026-11-01T08:00:00.'],
    ]);
    expect(new Set(rows.map((r) => r.date))).toEqual(new Set(['2026-11-01']));
  });

  it('Campaign_Interactions: a repeated row counts once, a row differing in an identity column is another', async () => {
    const header = 'Full Export Completed,Partial Result Timestamp,Filters,Users,Date,Initial Direction,First Queue';
    const row = 'YES,,"Queue: A; Queue: B",corpus,2026-03-09 09:03:00,Inbound,Mid Year Health Check';
    const csv = [header, row, row, row.replace('Inbound', 'Outbound'), ',,,,,,'].join('\n');
    const { result, rows } = await ingest('Campaign_Interactions', csv);
    expect(result.counts).toEqual(counts({ read: 3, inserted: 2, unchanged: 1, blank: 1 }));
    expect(rows.map((r) => r.values['Initial Direction']).sort()).toEqual(['Inbound', 'Outbound']);
  });

  it('logs the counts of every file and emits them as metrics', async () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await ingest(
        'RESC',
        `${IB_HEADER.replace(',Avg Handle', '')}\n${ibLine(8, 'lm-1', 'José Peña', 1, 0).replace(/,0$/, '')}\n`,
      );
    } finally {
      write.mockRestore();
    }
    const records = lines.flatMap((line) => line.trim().split('\n')).map((line) => JSON.parse(line));
    const log = records.find((r) => r.message === 'file ingested');
    expect(log).toMatchObject({
      type: 'RESC',
      counts: { read: 1, inserted: 1, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 0 },
      executionId: expect.stringMatching(new RegExp(`^${run.executionId}-\\d+$`)),
    });
    // PII stays out of the logs.
    expect(JSON.stringify(records)).not.toContain('Peña');
    const emf = records.find((r) => r._aws?.CloudWatchMetrics);
    expect(emf).toMatchObject({ exportType: 'RESC', RowsRead: 1, RowsInserted: 1, RowsRejected: 0, RowsBlank: 0 });
  });
});
