import { hash } from 'node:crypto';
import type { Config, DecimalSetting, ExportSpec, ValueKind } from '../common/config.ts';
import { normaliseHeader, recogniseTypeFromHeader } from '../common/exports.ts';
import { rowSortKey } from '../common/keys.ts';
import type { CellValue } from '../common/rows.ts';
import { addDays, instantToIso, localToInstant, offsetMinutes } from '../common/time.ts';
import type { CsvRecord, Delimiter } from './csv.ts';

/** Where each configured column sits in a file's header, and the extra columns kept. */
export interface HeaderLayout {
  spec: ExportSpec;
  names: string[];
  kinds: ValueKind[];
  indexes: number[];
  extra: { name: string; index: number }[];
  /** The header's names by position, as written: what a reject names a cell by. */
  header: string[];
  width: number;
  /** Positions (in spec.columns) of the identity columns; all columns for whole-row identity. */
  identity: number[];
  /** Positions of the other columns: what may differ between versions of a row, so what its digest covers. */
  versioned: number[];
  dateIndex: number;
  completeIndex: number | undefined;
}

export type HeaderResult = { layout: HeaderLayout } | { rejected: string };

/**
 * Matches a header to the export's columns, ignoring case and surrounding spaces. A header
 * missing a column, or one that is plainly another export's (Dials' header holds all of
 * IB_Calls' columns), is refused rather than stored under the wrong type.
 */
export function layoutHeader(header: readonly string[], spec: ExportSpec, config: Config): HeaderResult {
  const long = header.findIndex((cell) => cell.length > ROW_LIMITS.cellChars);
  if (long >= 0) return { rejected: `header cell ${long + 1} is over ${ROW_LIMITS.cellChars} characters` };
  const positions = new Map<string, number>();
  header.forEach((cell, index) => {
    const name = normaliseHeader(cell);
    if (name && !positions.has(name)) positions.set(name, index);
  });
  const missing: string[] = [];
  const indexes = spec.columns.map((column) => {
    const index = positions.get(normaliseHeader(column.name));
    if (index === undefined) missing.push(column.name);
    return index ?? -1;
  });
  if (missing.length > 0) return { rejected: `header lacks required column(s) of ${spec.type}: ${missing.join(', ')}` };
  const fits = recogniseTypeFromHeader(header, config);
  if (!fits.includes(spec)) {
    return { rejected: `header is that of ${fits.map((s) => s.type).join(', ')}, not of ${spec.type}` };
  }
  const used = new Set(indexes);
  const names = header.map((cell) => cell.replace(/^\uFEFF/, '').trim());
  const extra = names
    .map((name, index) => ({ name, index }))
    .filter((column) => !used.has(column.index) && column.name !== '');
  const position = (name: string) => spec.columns.findIndex((column) => column.name === name);
  const identity = spec.identity[0] === '*' ? spec.columns.map((_, i) => i) : spec.identity.map(position);
  return {
    layout: {
      spec,
      names: spec.columns.map((c) => c.name),
      kinds: spec.columns.map((c) => c.kind),
      indexes,
      extra,
      header: names,
      width: header.length,
      identity,
      versioned: spec.columns.map((_, i) => i).filter((i) => !identity.includes(i)),
      dateIndex: position(spec.dateColumn),
      completeIndex: spec.completeColumn ? position(spec.completeColumn) : undefined,
    },
  };
}

/**
 * What a row may hold: past these, the row is rejected with the reason, and the file's
 * other rows are stored.
 */
export const ROW_LIMITS = {
  /** Excel's limit for a cell: any cell of the record, configured or not. */
  cellChars: 32_767,
  /** The largest count JavaScript and the DynamoDB SDK hold exactly (2^53 − 1). */
  maxCount: Number.MAX_SAFE_INTEGER,
  /** 366 days in milliseconds: no duration of an interval's export comes near it. */
  maxDurationMs: 366 * 86_400_000,
  /** A nonzero duration below a microsecond is noise, and below 1e-130 DynamoDB refuses the number. */
  minDurationMs: 0.001,
  /** Datetimes are within this many days of the file's business date (exports hold the day so far, and the day before). */
  daysFromBusinessDate: 7,
  /** DynamoDB's item limit: a row's item, estimated from above, stays under it. */
  itemBytes: 400 * 1024,
} as const;

/** What bounds the rows of one file: its business date, and what its items may spend on values. */
export interface RowBounds {
  /** The file's business date `YYYY-MM-DD`. */
  businessDate: string;
  /** Bytes a row's values and extra columns may take: the item limit less the rest of the item. */
  valueBytes: number;
}

export interface ParsedRow {
  /** The row's sort key: `<UTC instant of the date column>#<identity hash>`, so a partition reads back in time order. */
  sk: string;
  shard: number;
  date: string;
  values: Record<string, CellValue>;
  extra?: Record<string, string>;
  complete: boolean;
  digest: string;
}

export type RowOutcome = { kind: 'blank' } | { kind: 'rejected'; reason: string } | { kind: 'row'; row: ParsedRow };

const BLANK: RowOutcome = { kind: 'blank' };

export function isBlank(cells: readonly string[]): boolean {
  for (const cell of cells) if (cell !== '' && trimmed(cell) !== '') return false;
  return true;
}

/** A local wall-clock time read in the center's zone. */
interface LocalTime {
  /** Local ISO time with its offset, as stored. */
  iso: string;
  instant: number;
  /** UTC ISO instant, for the sort key. */
  utc: string;
  /** Local date `YYYY-MM-DD`: the row's business date when this is its date column. */
  date: string;
}

/** A datetime cell; `later` is set for a wall time the autumn change shows twice. */
interface DateTimeCell {
  earlier: LocalTime;
  later?: LocalTime;
}

const maxCachedTimes = 100_000;

const hexDigits = '0123456789abcdef';
/** Scratch for the digest's text and a number's bits: one of each per process, as reading is synchronous. */
const digestChars: number[] = new Array(16).fill(0);
const numberBits = new DataView(new ArrayBuffer(8));

/**
 * A row's digest: 64 bits (two 32-bit lanes, 16 hex digits) hashed from its versioned values
 * one by one, so no text is built for it. It only tells versions of one identity apart
 * (`classify` in store.ts), where a collision could at worst count a changed row unchanged,
 * never decide which version is stored: a fast non-cryptographic hash is enough, where
 * building the values' text and its SHA-1 took about a sixth of each row's time. Values
 * enter typed, each with a tag: numbers as their bits (1.0 and 1 are the same value), text
 * with its length.
 *
 * Digests were the SHA-1 of the values as text (40 hex digits) before this format. A row
 * stored with one never matches a new digest: its next newer version counts "updated" once
 * (it is written anyway, with the new digest), and an older version arriving before that
 * counts "stale" where it would have counted "unchanged". Which version is stored is the same.
 */
class Digest {
  private a = 0;
  private b = 0;

  start(): void {
    this.a = 0x3c6ef372;
    this.b = 0x5be0cd19;
  }

  value(value: CellValue): void {
    if (value === null) this.unit(0);
    else if (typeof value === 'string') this.text(value);
    else if (typeof value === 'number') {
      this.unit(2);
      // -0 is stored as 0: the same value.
      numberBits.setFloat64(0, value === 0 ? 0 : value, true);
      this.unit(numberBits.getUint32(0, true));
      this.unit(numberBits.getUint32(4, true));
    } else this.unit(value ? 3 : 4);
  }

  text(text: string): void {
    this.unit(1);
    this.unit(text.length);
    for (let i = 0; i < text.length; i++) this.unit(text.charCodeAt(i));
  }

  hex(): string {
    const a = finalMix(this.a ^ this.b);
    const b = finalMix(this.b + a);
    for (let i = 0; i < 8; i++) {
      digestChars[i] = hexDigits.charCodeAt((a >>> (28 - 4 * i)) & 15);
      digestChars[i + 8] = hexDigits.charCodeAt((b >>> (28 - 4 * i)) & 15);
    }
    return String.fromCharCode(...digestChars);
  }

  /** Each step is a bijection of each lane: sequences of units differing in only one never collide. */
  private unit(unit: number): void {
    const k = Math.imul(rotateLeft(Math.imul(unit, 0xcc9e2d51), 15), 0x1b873593);
    this.a = (Math.imul(rotateLeft(this.a ^ k, 13), 5) + 0xe6546b64) | 0;
    this.b = Math.imul(rotateLeft(this.b ^ k, 17), 0x9e3779b1);
  }
}

function rotateLeft(x: number, bits: number): number {
  return (x << bits) | (x >>> (32 - bits));
}

/** MurmurHash3's finaliser: every input bit reaches every output bit. */
function finalMix(x: number): number {
  let h = x;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Reads the records of one file into typed, identified rows. Exports hold few distinct
 * times, so each is resolved in the zone once. One reader per file: it remembers the rows
 * of the autumn's repeated hour to tell their two occurrences apart.
 */
export class RowReader {
  private readonly times = new Map<string, DateTimeCell | null>();
  private readonly repeatedHourRows = new Map<string, number>();
  /** The row being read, typed: filled anew by every read, copied into the row's values. */
  private readonly typed: CellValue[];
  private readonly digest = new Digest();
  /** The first and last local dates a datetime may fall on. */
  private readonly earliestDate: string;
  private readonly latestDate: string;
  /** The estimated bytes of a row's item spent whatever its text (see `fixedValueBytes`). */
  private readonly fixedBytes: number;
  /** A number cell's value, or why it is not one, read with the file's decimal mark. */
  private readonly number: (raw: string) => number | string;

  /** Builds a row's values object with one literal, so that every row gets the same shape at once. */
  private readonly valuesOf: (typed: CellValue[]) => Record<string, CellValue>;

  constructor(
    readonly layout: HeaderLayout,
    private readonly timeZone: string,
    private readonly shards: number,
    private readonly bounds: RowBounds,
    reading: DecimalReading,
  ) {
    const fields = layout.names.map((name, i) => `${JSON.stringify(name)}: typed[${i}]`);
    this.valuesOf = new Function('typed', `return { ${fields.join(', ')} };`) as RowReader['valuesOf'];
    this.typed = layout.names.map(() => null);
    this.earliestDate = addDays(bounds.businessDate, -ROW_LIMITS.daysFromBusinessDate);
    this.latestDate = addDays(bounds.businessDate, ROW_LIMITS.daysFromBusinessDate);
    this.fixedBytes = fixedValueBytes(layout);
    this.number = reading === '.' ? decimal : reading === ',' ? commaDecimal : eitherDecimal;
  }

  /** One record as a typed row, or why it cannot be stored. */
  read(cells: readonly string[]): RowOutcome {
    const layout = this.layout;
    if (cells.length !== layout.width) {
      if (isBlank(cells)) return BLANK;
      return { kind: 'rejected', reason: `expected ${layout.width} fields, found ${cells.length}` };
    }
    if (isBlank(cells)) return BLANK;
    // Every cell, configured or not, has to fit a workbook cell; the text of the row bounds its item.
    let textChars = 0;
    for (let c = 0; c < cells.length; c++) {
      const length = (cells[c] as string).length;
      if (length > ROW_LIMITS.cellChars) {
        return rejected(
          layout.header[c] || `column ${c + 1}`,
          `over ${ROW_LIMITS.cellChars} characters`,
          cells[c] as string,
        );
      }
      textChars += length;
    }
    // 3 bytes a character bounds UTF-8 from above; only a row that could pass is measured.
    if (this.fixedBytes + 3 * textChars > this.bounds.valueBytes) {
      let textBytes = 0;
      for (const cell of cells) textBytes += Buffer.byteLength(cell);
      if (this.fixedBytes + textBytes > this.bounds.valueBytes) {
        return {
          kind: 'rejected',
          reason: `its item would pass DynamoDB's ${ROW_LIMITS.itemBytes / 1024} KB (${textBytes} bytes of text)`,
        };
      }
    }
    const { names, kinds, indexes, dateIndex } = layout;
    const count = names.length;
    const typed = this.typed;
    const number = this.number;
    let dateTime: LocalTime | undefined;
    let ambiguous = false;
    for (let i = 0; i < count; i++) {
      const raw = trimmed(cells[indexes[i] as number] as string);
      if (raw === '') {
        typed[i] = null;
        continue;
      }
      switch (kinds[i]) {
        case 'text':
          typed[i] = raw;
          break;
        case 'datetime': {
          const cell = this.dateTime(raw);
          if (cell === null) return rejected(names[i], 'not a date and time', raw);
          if (cell.earlier.date < this.earliestDate || cell.earlier.date > this.latestDate) {
            return rejected(
              names[i],
              `more than ${ROW_LIMITS.daysFromBusinessDate} days from the business date ${this.bounds.businessDate}`,
              raw,
            );
          }
          typed[i] = cell.earlier.iso;
          if (i === dateIndex) dateTime = cell.earlier;
          if (cell.later) ambiguous = true;
          break;
        }
        case 'duration_ms': {
          const n = number(raw);
          if (typeof n === 'string') return rejected(names[i], n, raw);
          if (n < 0) return rejected(names[i], 'negative', raw);
          if (n > ROW_LIMITS.maxDurationMs) return rejected(names[i], 'over 366 days', raw);
          if (n !== 0 && n < ROW_LIMITS.minDurationMs) return rejected(names[i], 'below 0.001 ms', raw);
          typed[i] = n;
          break;
        }
        case 'count': {
          const n = number(raw);
          if (typeof n === 'string') return rejected(names[i], n, raw);
          if (!Number.isInteger(n)) return rejected(names[i], 'not a whole number', raw);
          if (n < 0) return rejected(names[i], 'negative', raw);
          if (n > ROW_LIMITS.maxCount) return rejected(names[i], 'over 2^53 − 1', raw);
          typed[i] = n;
          break;
        }
        case 'flag': {
          const n = raw === '1.0' || raw === '1' ? 1 : raw === '0.0' || raw === '0' ? 0 : flagNumber(raw, number);
          if (n !== 0 && n !== 1) return rejected(names[i], 'not 0 or 1', raw);
          typed[i] = n === 1;
          break;
        }
      }
    }
    if (dateTime === undefined) return { kind: 'rejected', reason: `${names[dateIndex]}: missing` };
    if (ambiguous) dateTime = this.resolveRepeatedHour(cells, typed);

    const values = this.valuesOf(typed);
    // The identity columns are the same in every version of a row: the digest covers the rest.
    const digest = this.digest;
    digest.start();
    for (const i of layout.versioned) digest.value(typed[i] as CellValue);
    let extra: Record<string, string> | undefined;
    if (layout.extra.length > 0) {
      extra = {};
      for (const column of layout.extra) {
        const value = cells[column.index] as string;
        extra[column.name] = value;
        digest.text(column.name);
        digest.text(value);
      }
    }

    let identityText = layout.spec.type;
    for (const i of layout.identity) {
      const value = typed[i] as CellValue;
      identityText += value === null ? '\u001f' : `\u001f${value}`;
    }
    const identity = hash('sha1', identityText);
    const completeValue = layout.completeIndex === undefined ? undefined : typed[layout.completeIndex];
    const row: ParsedRow = {
      sk: rowSortKey(dateTime.utc, identity),
      shard: leadingWord(identity) % this.shards,
      date: dateTime.date,
      values,
      complete: completeValue === true || (typeof completeValue === 'string' && /^yes$/i.test(completeValue)),
      digest: digest.hex(),
    };
    if (extra) row.extra = extra;
    return { kind: 'row', row };
  }

  private dateTime(raw: string): DateTimeCell | null {
    let cell = this.times.get(raw);
    if (cell === undefined) {
      cell = readDateTime(raw, this.timeZone);
      if (this.times.size >= maxCachedTimes) this.times.clear();
      // Kept by a copy of its own: the cell is a cut of a decoded chunk, which it would keep alive.
      this.times.set(` ${raw}`.slice(1), cell);
    }
    return cell;
  }

  /**
   * When clocks fall back, an hour's wall times happen twice and the text alone cannot
   * say which. The row's datetimes are read together: an interval's end is after its
   * start and the shortest reading wins (01:00–01:00 is daylight to standard, 01:00–02:00 is
   * standard time). Where readings still tie (30-minute intervals, a single timestamp), the
   * first occurrence in the file is daylight time and the next standard, as exports run in
   * time order.
   */
  private resolveRepeatedHour(cells: readonly string[], typed: CellValue[]): LocalTime {
    const { kinds, indexes, dateIndex, identity } = this.layout;
    const positions: number[] = [];
    const options: LocalTime[][] = [];
    kinds.forEach((kind, i) => {
      const raw = kind === 'datetime' ? (cells[indexes[i] as number] as string).trim() : '';
      const cell = raw === '' ? null : this.dateTime(raw);
      if (!cell) return;
      positions.push(i);
      options.push(cell.later ? [cell.earlier, cell.later] : [cell.earlier]);
    });
    let readings: LocalTime[][] = [[]];
    for (const choices of options) readings = readings.flatMap((r) => choices.map((c) => [...r, c]));
    const ordered = readings.filter((r) =>
      r.every((time, k) => k === 0 || (r[k - 1] as LocalTime).instant < time.instant),
    );
    const span = (r: LocalTime[]) => (r[r.length - 1] as LocalTime).instant - (r[0] as LocalTime).instant;
    const candidates = ordered.length > 0 ? ordered : readings;
    const shortest = Math.min(...candidates.map(span));
    const best = candidates.filter((r) => span(r) === shortest);
    let reading = best[0] as LocalTime[];
    if (best.length > 1) {
      const key = identity.map((i) => (cells[indexes[i] as number] as string).trim()).join('\u001f');
      const seen = this.repeatedHourRows.get(key) ?? 0;
      this.repeatedHourRows.set(key, seen + 1);
      reading = best[Math.min(seen, best.length - 1)] as LocalTime[];
    }
    let dateTime = reading[0] as LocalTime;
    positions.forEach((i, k) => {
      const time = reading[k] as LocalTime;
      typed[i] = time.iso;
      if (i === dateIndex) dateTime = time;
    });
    return dateTime;
  }
}

/** The number the first 8 hex digits of a hash spell: `Number.parseInt(hex.slice(0, 8), 16)` without the slice. */
function leadingWord(hex: string): number {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const code = hex.charCodeAt(i);
    value = value * 16 + (code <= NINE ? code - ZERO : code - LETTER_A + 10);
  }
  return value;
}

const ZERO = 48;
const NINE = 57;
const LETTER_A = 97;

/** A cell without its surrounding white space: most have none, and looking at its ends costs less than trim(). */
function trimmed(cell: string): string {
  const first = cell.charCodeAt(0);
  const last = cell.charCodeAt(cell.length - 1);
  return first > 32 && first < 127 && last > 32 && last < 127 ? cell : cell.trim();
}

function flagNumber(raw: string, number: (raw: string) => number | string): number {
  const n = number(raw);
  if (typeof n === 'number') return n;
  return /^true$/i.test(raw) ? 1 : /^false$/i.test(raw) ? 0 : Number.NaN;
}

/**
 * How the numbers of a file are read: with a decimal point; with a decimal comma, points
 * only between thousands (`1.234,5`); or `either`, each number by its own marks (see
 * `eitherDecimal`).
 */
export type DecimalReading = '.' | ',' | 'either';

/**
 * Data rows from a file's start that `decimalReading` looks at, read ahead of storing any:
 * an export writes its decimal mark in nearly every row (`1.0`, `9,0`), and a hundred rows are little to hold.
 */
export const decimalSampleRows = 100;

/**
 * How a file's numbers are read. The export's `decimal` setting decides, `.` or `,`. With
 * `auto`, a `,`-delimited file has decimal points: an unquoted comma there separates fields.
 * A `;`- or tab-delimited file whose first rows show decimal points (`9.0`, `900806.5`) and
 * no comma in a number also has decimal points, so that its `523.667` is not taken for
 * thousands. Any other `;`- or tab-delimited file is read `either`: a comma in a number is
 * its decimal mark, and a number whose points could as well separate thousands (`1.234`) is
 * rejected as ambiguous. The first rows are the same however the file's bytes arrive, so
 * every read of a file (a rerun, an undo) reads its numbers alike.
 */
export function decimalReading(
  setting: DecimalSetting,
  delimiter: Delimiter,
  layout: HeaderLayout,
  firstRows: readonly CsvRecord[],
): DecimalReading {
  if (setting !== 'auto') return setting;
  if (delimiter === ',') return '.';
  const numbers = layout.indexes.filter((_, i) => layout.kinds[i] !== 'text' && layout.kinds[i] !== 'datetime');
  let points = false;
  for (const record of firstRows.slice(0, decimalSampleRows)) {
    if (record.malformed || record.cells.length !== layout.width) continue;
    for (const index of numbers) {
      const raw = trimmed(record.cells[index] as string);
      if (raw.includes(',')) return 'either';
      if (raw.includes('.') && !THOUSANDS.test(raw)) points = true;
    }
  }
  return points ? '.' : 'either';
}

/** Points between groups of three digits: thousands, or a decimal point, as `1.234` may be either. */
const THOUSANDS = /^[+-]?\d{1,3}(?:\.\d{3})+$/;

/** The problem of a number that a decimal point and a thousands separator read differently. */
const AMBIGUOUS = 'ambiguous number';

/** A number with a decimal comma: points, if any, separate the thousands of its whole part (`1.234,5`). */
function commaDecimal(raw: string): number | string {
  const comma = raw.indexOf(',');
  if (raw.indexOf('.') < 0) return decimal(comma < 0 ? raw : raw.replace(',', '.'));
  const whole = comma < 0 ? raw : raw.slice(0, comma);
  if (!THOUSANDS.test(whole)) return 'not a number with a decimal comma';
  const digits = whole.replaceAll('.', '');
  return decimal(comma < 0 ? digits : `${digits}.${raw.slice(comma + 1)}`);
}

/**
 * A number read by its own marks: with a comma, a decimal comma (`9,0`, `1.234,5`); without
 * one, a decimal point (`900806.5`), unless its points could as well separate thousands.
 */
function eitherDecimal(raw: string): number | string {
  if (raw.indexOf(',') >= 0) return commaDecimal(raw);
  if (raw.indexOf('.') >= 0 && THOUSANDS.test(raw)) return AMBIGUOUS;
  return decimal(raw);
}

const ZERO_CODE = 48;

/**
 * A cell's number, written in decimal, or why it is not one. `Number()` also reads `0x10`,
 * `0b1` and `0o7`, and overflows to Infinity (`1e400`): none of them is a value of an export.
 */
function decimal(raw: string): number | string {
  const n = Number(raw);
  if (Number.isNaN(n)) return 'not a number';
  if (!Number.isFinite(n)) return 'not a finite number';
  // Only a leading 0 then a letter can be another base: signed ones are NaN already.
  if (raw.length > 2 && raw.charCodeAt(0) === ZERO_CODE && /^0[xbo]/i.test(raw)) return 'not a decimal number';
  return n;
}

/**
 * Bytes a row's item spends on its values whatever their text, counted from above: each
 * attribute name at 3 bytes a character (UTF-8's worst for a UTF-16 unit) and 8 bytes of
 * framing, and 32 bytes for a value that is not text (a number, a flag, a datetime's ISO
 * text). The row's cells add their UTF-8 bytes, every cell counted as text.
 */
function fixedValueBytes(layout: HeaderLayout): number {
  let bytes = 0;
  layout.names.forEach((name, i) => {
    bytes += 3 * name.length + 8 + (layout.kinds[i] === 'text' ? 0 : 32);
  });
  for (const column of layout.extra) bytes += 3 * column.name.length + 8;
  return bytes;
}

function rejected(column: string | undefined, problem: string, raw: string): RowOutcome {
  const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
  const fix = problem === AMBIGUOUS ? ' (decimal point or thousands separator?) — set exports[].decimal' : '';
  return { kind: 'rejected', reason: `${column}: ${problem}: ${shown}${fix}` };
}

function localTime(instant: number, timeZone: string): LocalTime {
  const iso = instantToIso(instant, timeZone);
  return { iso, instant, utc: new Date(instant).toISOString(), date: iso.slice(0, 10) };
}

/** A local datetime in the zone, with its second reading when the autumn change repeats it. */
function readDateTime(raw: string, timeZone: string): DateTimeCell | null {
  const instant = localToInstant(raw, timeZone);
  if (instant === undefined) return null;
  const earlier = localTime(instant, timeZone);
  const fallBack = offsetMinutes(instant, timeZone) - offsetMinutes(instant + 86_400_000, timeZone);
  if (fallBack > 0) {
    const later = localTime(instant + fallBack * 60_000, timeZone);
    if (later.iso.slice(0, 19) === earlier.iso.slice(0, 19)) return { earlier, later };
  }
  return { earlier };
}
