import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import { exportSpec } from '../../functions/common/exports.ts';
import type { CsvRecord } from '../../functions/ingest/csv.ts';
import {
  type DecimalReading,
  decimalReading,
  decimalSampleRows,
  type HeaderLayout,
  layoutHeader,
  type ParsedRow,
  ROW_LIMITS,
  type RowBounds,
  RowReader,
} from '../../functions/ingest/rows.ts';

const config = loadConfigFile();
const tz = config.timeZone;
/** A business date the rows below are near, and DynamoDB's limit less a generous item frame. */
const bounds: RowBounds = { businessDate: '2026-03-09', valueBytes: ROW_LIMITS.itemBytes - 2048 };
const fallBack: RowBounds = { ...bounds, businessDate: '2026-11-01' };
const IB = 'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle,Avg Handle';

function layout(header: string, type = 'IB_Calls'): HeaderLayout {
  const result = layoutHeader(header.split(','), exportSpec(config, type), config);
  if (!('layout' in result)) throw new Error(result.rejected);
  return result.layout;
}

function row(reader: RowReader, line: string): ParsedRow {
  const outcome = reader.read(line.split(','));
  if (outcome.kind !== 'row') throw new Error(`not a row: ${JSON.stringify(outcome)}`);
  return outcome.row;
}

const ib = (start: string, end: string, agent = 'a1', handle = '1.0') =>
  `${start},${end},1.0,Queue: Q,voice,${agent},Zoë Müller,${handle},1500.5`;

describe('layoutHeader', () => {
  it('matches columns ignoring case and surrounding spaces, in any order, and keeps extra columns', () => {
    const header =
      ' agent id ,INTERVAL START,Interval End,interval complete,Filters,Media Type,Agent Name,Handle,Avg Handle, Notes ';
    const reader = new RowReader(layout(header), tz, 8, bounds, '.');
    const parsed = row(reader, 'a1,2026-03-09 08:00:00,2026-03-09 09:00:00,1,Q,voice,José Peña,3,120000, called back ');
    expect(parsed.values).toEqual({
      'Interval Start': '2026-03-09T08:00:00-05:00',
      'Interval End': '2026-03-09T09:00:00-05:00',
      'Interval Complete': true,
      Filters: 'Q',
      'Media Type': 'voice',
      'Agent Id': 'a1',
      'Agent Name': 'José Peña',
      Handle: 3,
      'Avg Handle': 120000,
    });
    expect(parsed.extra).toEqual({ Notes: ' called back ' });
  });

  it('refuses a header with a cell over the 32,767 characters of a workbook cell', () => {
    const header = `${IB},${'N'.repeat(ROW_LIMITS.cellChars + 1)}`.split(',');
    expect(layoutHeader(header, exportSpec(config, 'IB_Calls'), config)).toEqual({
      rejected: 'header cell 10 is over 32767 characters',
    });
  });

  it('names the missing columns of a short header', () => {
    expect(layoutHeader(['Interval Start', 'Agent Id'], exportSpec(config, 'QCBS'), config)).toEqual({
      rejected:
        'header lacks required column(s) of QCBS: Interval End, Interval Complete, Filters, Media Type, Agent Name, Handle',
    });
  });

  it("refuses another export's header rather than storing it under the wrong type", () => {
    const dials = exportSpec(config, 'Dials').columns.map((c) => c.name);
    expect(layoutHeader(dials, exportSpec(config, 'IB_Calls'), config)).toEqual({
      rejected: 'header is that of Dials, not of IB_Calls',
    });
    // ACQ, QCBS and RESC share a header: only the name tells them apart, so each accepts it.
    const shared = exportSpec(config, 'ACQ').columns.map((c) => c.name);
    expect('layout' in layoutHeader(shared, exportSpec(config, 'RESC'), config)).toBe(true);
  });
});

describe('RowReader', () => {
  it('types values: local times with offsets, durations as numbers, counts as integers, flags', () => {
    const reader = new RowReader(layout(IB), tz, 8, bounds, '.');
    const parsed = row(reader, ib('2026-03-09 08:00', '2026-03-09 09:00:00'));
    expect(parsed.values).toMatchObject({
      'Interval Start': '2026-03-09T08:00:00-05:00',
      'Interval End': '2026-03-09T09:00:00-05:00',
      'Interval Complete': true,
      Handle: 1,
      'Avg Handle': 1500.5,
    });
    expect(parsed.date).toBe('2026-03-09');
    expect(parsed.sk).toMatch(/^2026-03-09T13:00:00\.000Z#[0-9a-f]{40}$/);
    expect(parsed.complete).toBe(true);
  });

  it('says why a value cannot be read', () => {
    const reader = new RowReader(layout(IB), tz, 8, bounds, '.');
    const reason = (line: string) => {
      const outcome = reader.read(line.split(','));
      return outcome.kind === 'rejected' ? outcome.reason : outcome.kind;
    };
    expect(reason(ib('2026-03-09 08:00:00', '2026-03-09 09:00:00', 'a', 'many'))).toBe('Handle: not a number: many');
    expect(reason(ib('2026-03-09 08:00:00', '2026-03-09 09:00:00', 'a', '2.5'))).toBe(
      'Handle: not a whole number: 2.5',
    );
    expect(reason(ib('2026-02-30 08:00:00', '2026-03-09 09:00:00'))).toBe(
      'Interval Start: not a date and time: 2026-02-30 08:00:00',
    );
    expect(reason(ib('', '2026-03-09 09:00:00'))).toBe('Interval Start: missing');
    expect(reason(ib('2026-03-09 08:00:00', '2026-03-09 09:00:00').replace(',1.0,', ',yes,'))).toBe(
      'Interval Complete: not 0 or 1: yes',
    );
    expect(reason('a,b,c')).toBe('expected 9 fields, found 3');
    expect(reason(',,,,,,,,')).toBe('blank');
    expect(reason(' ')).toBe('blank');
  });

  it('gives a row the same key and digest whatever the file, and a new digest when a value changes', () => {
    const first = row(new RowReader(layout(IB), tz, 8, bounds, '.'), ib('2026-03-09 08:00:00', '2026-03-09 09:00:00'));
    const again = row(new RowReader(layout(IB), tz, 8, bounds, '.'), ib('2026-03-09 08:00', '2026-03-09 09:00'));
    const changed = row(
      new RowReader(layout(IB), tz, 8, bounds, '.'),
      ib('2026-03-09 08:00:00', '2026-03-09 09:00:00', 'a1', '2.0'),
    );
    expect(again).toEqual(first);
    expect(changed.sk).toBe(first.sk);
    expect(changed.digest).not.toBe(first.digest);
  });

  it('keeps the keys rows are stored under: SHA-1 of the identity text, the shard from its first 32 bits', () => {
    const reader = new RowReader(layout(IB), tz, 8, bounds, '.');
    const keys = ['a1', 'a2', 'agent-7'].map((agent) => {
      const parsed = row(reader, ib('2026-03-09 08:00:00', '2026-03-09 09:00:00', agent));
      return [parsed.sk, parsed.shard];
    });
    expect(keys).toEqual([
      ['2026-03-09T13:00:00.000Z#bcfc7760b1967b5c0128c30c21345f223bef2e2b', 0],
      ['2026-03-09T13:00:00.000Z#3159e82414e54c44ffdf061a4582e98f89d6c017', 4],
      ['2026-03-09T13:00:00.000Z#f01f3ccead81d0eaa6fd33dce3f8d0caf73a0d21', 6],
    ]);
  });

  it('digests the values that may change between versions, as values: 1.0 and 1 are the same', () => {
    const digest = (handle: string, name = 'Zoë Müller', notes = ['n', 'm']) =>
      row(
        new RowReader(layout(`${IB},Notes,More`), tz, 8, bounds, '.'),
        `2026-03-09 08:00:00,2026-03-09 09:00:00,1.0,Queue: Q,voice,a1,${name},${handle},1500.5,${notes.join(',')}`,
      ).digest;
    expect(digest('1.0')).toMatch(/^[0-9a-f]{16}$/);
    expect(digest('1')).toBe(digest('1.0'));
    expect(digest('2')).not.toBe(digest('1'));
    expect(digest('1', 'Zoe Muller')).not.toBe(digest('1'));
    expect(digest('1', 'Zoë Müller', ['n', 'other'])).not.toBe(digest('1'));
    // Where one cell ends and the next begins is part of what is digested.
    expect(digest('1', 'Zoë Müller', ['ab', 'c'])).not.toBe(digest('1', 'Zoë Müller', ['a', 'bc']));
  });

  it('spreads rows over the configured shards', () => {
    const reader = new RowReader(layout(IB), tz, 8, bounds, '.');
    const shards = new Set(
      Array.from(
        { length: 200 },
        (_, i) => row(reader, ib('2026-03-09 08:00:00', '2026-03-09 09:00:00', `agent-${i}`)).shard,
      ),
    );
    expect([...shards].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('reads the spring-forward day 2026-03-08 (23 hours)', () => {
    const reader = new RowReader(layout(IB), tz, 8, bounds, '.');
    const interval = (start: string, end: string) => {
      const parsed = row(reader, ib(`2026-03-08 ${start}:00`, `2026-03-08 ${end}:00`));
      return [parsed.values['Interval Start'], parsed.values['Interval End'], parsed.sk.slice(0, 24)];
    };
    expect(interval('00:00', '01:00')).toEqual([
      '2026-03-08T00:00:00-06:00',
      '2026-03-08T01:00:00-06:00',
      '2026-03-08T06:00:00.000Z',
    ]);
    // 02:00 does not exist: the hour after 01:00 ends at 03:00 daylight time.
    expect(interval('01:00', '03:00')).toEqual([
      '2026-03-08T01:00:00-06:00',
      '2026-03-08T03:00:00-05:00',
      '2026-03-08T07:00:00.000Z',
    ]);
    expect(interval('03:00', '04:00')).toEqual([
      '2026-03-08T03:00:00-05:00',
      '2026-03-08T04:00:00-05:00',
      '2026-03-08T08:00:00.000Z',
    ]);
  });

  it('reads the fall-back day 2026-11-01 (25 hours): hourly intervals through the repeated hour', () => {
    const reader = new RowReader(layout(IB), tz, 8, fallBack, '.');
    const interval = (start: string, end: string) => {
      const parsed = row(reader, ib(`2026-11-01 ${start}:00`, `2026-11-01 ${end}:00`));
      return [parsed.values['Interval Start'], parsed.values['Interval End']];
    };
    expect(interval('00:00', '01:00')).toEqual(['2026-11-01T00:00:00-05:00', '2026-11-01T01:00:00-05:00']);
    // 01:00 daylight to 01:00 standard: an hour whose end reads like its start.
    expect(interval('01:00', '01:00')).toEqual(['2026-11-01T01:00:00-05:00', '2026-11-01T01:00:00-06:00']);
    expect(interval('01:00', '02:00')).toEqual(['2026-11-01T01:00:00-06:00', '2026-11-01T02:00:00-06:00']);
    expect(interval('02:00', '03:00')).toEqual(['2026-11-01T02:00:00-06:00', '2026-11-01T03:00:00-06:00']);
  });

  it('reads half-hour intervals and single timestamps of the repeated hour in file order', () => {
    const reader = new RowReader(layout(IB), tz, 8, fallBack, '.');
    const interval = (start: string, end: string, agent = 'a1') => {
      const parsed = row(reader, ib(`2026-11-01 ${start}:00`, `2026-11-01 ${end}:00`, agent));
      return [parsed.values['Interval Start'], parsed.values['Interval End']];
    };
    expect(interval('01:00', '01:30')).toEqual(['2026-11-01T01:00:00-05:00', '2026-11-01T01:30:00-05:00']);
    // Another agent's first 01:00–01:30 is daylight time too.
    expect(interval('01:00', '01:30', 'a2')).toEqual(['2026-11-01T01:00:00-05:00', '2026-11-01T01:30:00-05:00']);
    expect(interval('01:30', '01:00')).toEqual(['2026-11-01T01:30:00-05:00', '2026-11-01T01:00:00-06:00']);
    expect(interval('01:00', '01:30')).toEqual(['2026-11-01T01:00:00-06:00', '2026-11-01T01:30:00-06:00']);
    expect(interval('01:30', '02:00')).toEqual(['2026-11-01T01:30:00-06:00', '2026-11-01T02:00:00-06:00']);

    const campaign = new RowReader(
      layout(
        'Full Export Completed,Partial Result Timestamp,Filters,Users,Date,Initial Direction,First Queue',
        'Campaign_Interactions',
      ),
      tz,
      8,
      fallBack,
      '.',
    );
    const at = (date: string) => row(campaign, `YES,,F,,${date},Inbound,Q`).values.Date;
    expect(at('2026-11-01 01:05:00')).toBe('2026-11-01T01:05:00-05:00');
    expect(at('2026-11-01 01:05:00')).toBe('2026-11-01T01:05:00-06:00');
  });
});

describe('decimal marks', () => {
  /** What a reader with the decimal reading makes of Avg Handle, Handle and Interval Complete. */
  function numbers(reading: DecimalReading, avgHandle: string, handle = '1', complete = '1') {
    const reader = new RowReader(layout(IB), tz, 8, bounds, reading);
    const cells = ib('2026-03-09 08:00:00', '2026-03-09 09:00:00', 'a1').split(',');
    cells[2] = complete;
    cells[7] = handle;
    cells[8] = avgHandle;
    const outcome = reader.read(cells);
    if (outcome.kind !== 'row') return outcome.kind === 'rejected' ? outcome.reason : outcome.kind;
    const { values } = outcome.row;
    return [values['Avg Handle'], values.Handle, values['Interval Complete']];
  }

  it('"," reads a decimal comma, points only between thousands', () => {
    expect(numbers(',', '900806,5', '9,0', '1,0')).toEqual([900806.5, 9, true]);
    expect(numbers(',', '1.234,5', '1.234', '0,0')).toEqual([1234.5, 1234, false]);
    expect(numbers(',', '1.234.567,25')).toEqual([1234567.25, 1, true]);
    expect(numbers(',', '900806.5')).toBe('Avg Handle: not a number with a decimal comma: 900806.5');
    expect(numbers(',', '12.34,5')).toBe('Avg Handle: not a number with a decimal comma: 12.34,5');
    expect(numbers(',', '1,2,3')).toBe('Avg Handle: not a number: 1,2,3');
    // The checks on numbers hold after the conversion.
    expect(numbers(',', '-5,5')).toBe('Avg Handle: negative: -5,5');
    expect(numbers(',', '1', '2,5')).toBe('Handle: not a whole number: 2,5');
    expect(numbers(',', '1', '0x10')).toBe('Handle: not a decimal number: 0x10');
    expect(numbers(',', '0,0000001')).toBe('Avg Handle: below 0.001 ms: 0,0000001');
  });

  it('"." reads a decimal point, and a comma is no number', () => {
    expect(numbers('.', '1.234', '9.0', '1.0')).toEqual([1.234, 9, true]);
    expect(numbers('.', '900806,5')).toBe('Avg Handle: not a number: 900806,5');
    expect(numbers('.', '1', '1', '1,0')).toBe('Interval Complete: not 0 or 1: 1,0');
  });

  it('"either" reads each number by its marks, and rejects one a point may read two ways', () => {
    expect(numbers('either', '900806,5', '9,0', '1,0')).toEqual([900806.5, 9, true]);
    expect(numbers('either', '1.234,5', '12')).toEqual([1234.5, 12, true]);
    expect(numbers('either', '900806.5', '9.0', '1.0')).toEqual([900806.5, 9, true]);
    expect(numbers('either', '0.25')).toEqual([0.25, 1, true]);
    expect(numbers('either', '1.234')).toBe(
      'Avg Handle: ambiguous number: 1.234 (decimal point or thousands separator?) — set exports[].decimal',
    );
    expect(numbers('either', '1', '12.345.678')).toBe(
      'Handle: ambiguous number: 12.345.678 (decimal point or thousands separator?) — set exports[].decimal',
    );
  });
});

describe('decimalReading', () => {
  const ibLayout = layout(IB);
  const rows = (...numbers: [complete: string, handle: string, avgHandle: string][]): CsvRecord[] =>
    numbers.map(([complete, handle, avgHandle], i) => {
      const cells = ib('2026-03-09 08:00:00', '2026-03-09 09:00:00', `a${i}`).split(',');
      cells[2] = complete;
      cells[7] = handle;
      cells[8] = avgHandle;
      return { cells, line: i + 2 };
    });

  it('takes a set mark whatever the file', () => {
    expect(decimalReading(',', ',', ibLayout, rows(['1.0', '2.0', '5.5']))).toBe(',');
    expect(decimalReading('.', ';', ibLayout, rows(['1,0', '2,0', '5,5']))).toBe('.');
  });

  it('reads decimal points in a ,-delimited file, where a comma would separate fields', () => {
    expect(decimalReading('auto', ',', ibLayout, rows(['1', '2', '1234']))).toBe('.');
  });

  it('reads decimal points in a ;- or tab-delimited file whose first rows show them and no comma', () => {
    expect(decimalReading('auto', ';', ibLayout, rows(['1', '2', '1234'], ['1.0', '3.0', '523.667']))).toBe('.');
    expect(decimalReading('auto', '\t', ibLayout, rows(['1', '2', '900806.5']))).toBe('.');
  });

  it('reads each number by its marks where the first rows show a comma, or no decimal mark', () => {
    expect(decimalReading('auto', ';', ibLayout, rows(['1.0', '3.0', '5.5'], ['1', '2', '9,5']))).toBe('either');
    expect(decimalReading('auto', '\t', ibLayout, rows(['1', '2', '1.234'], ['1', '2', '1234']))).toBe('either');
    expect(decimalReading('auto', ';', ibLayout, [])).toBe('either');
  });

  it('looks at the first rows only, and not at text or malformed records', () => {
    const filler = Array.from({ length: decimalSampleRows }, () => ['1', '2', '1234'] as [string, string, string]);
    expect(decimalReading('auto', ';', ibLayout, rows(...filler, ['1.0', '3.0', '5.5']))).toBe('either');
    const [text] = rows(['1', '2', '3']);
    (text as CsvRecord).cells[6] = 'Peña, 1.5';
    const malformed: CsvRecord = { cells: ['9.5'], line: 3, malformed: 'a quoted field is never closed' };
    expect(decimalReading('auto', ';', ibLayout, [text as CsvRecord, malformed])).toBe('either');
  });
});
