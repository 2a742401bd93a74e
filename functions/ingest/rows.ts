import { createHash } from 'node:crypto';
import type { ColumnSpec, ExportSpec } from '../shared/config.ts';
import { normaliseHeader } from '../shared/exports.ts';
import { rowSortKey } from '../shared/keys.ts';
import type { CellValue } from '../shared/rows.ts';
import { localToIso } from '../shared/time.ts';

/** Where each configured column sits in a file's header, and the extra columns kept. */
export interface HeaderLayout {
  spec: ExportSpec;
  indexes: number[];
  extra: { name: string; index: number }[];
  width: number;
  /** Positions (in spec.columns) of the identity columns; all columns for whole-row identity. */
  identity: number[];
  dateIndex: number;
  completeIndex: number | undefined;
}

export type HeaderResult = { layout: HeaderLayout } | { missing: string[] };

/** Matches a header to the export's columns, ignoring case and surrounding spaces. */
export function layoutHeader(header: readonly string[], spec: ExportSpec): HeaderResult {
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
  if (missing.length > 0) return { missing };
  const used = new Set(indexes);
  const extra = header
    .map((cell, index) => ({ name: cell.replace(/^\uFEFF/, '').trim(), index }))
    .filter((column) => !used.has(column.index) && column.name !== '');
  const position = (name: string) => spec.columns.findIndex((column) => column.name === name);
  const identity = spec.identity[0] === '*' ? spec.columns.map((_, i) => i) : spec.identity.map(position);
  return {
    layout: {
      spec,
      indexes,
      extra,
      width: header.length,
      identity,
      dateIndex: position(spec.dateColumn),
      completeIndex: spec.completeColumn ? position(spec.completeColumn) : undefined,
    },
  };
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

export function isBlank(cells: readonly string[]): boolean {
  return cells.every((cell) => cell.trim() === '');
}

/** Reads one record into a typed row, or says why it cannot be stored. */
export function readRow(cells: readonly string[], layout: HeaderLayout, timeZone: string, shards: number): RowOutcome {
  if (isBlank(cells)) return { kind: 'blank' };
  if (cells.length !== layout.width) {
    return { kind: 'rejected', reason: `expected ${layout.width} fields, found ${cells.length}` };
  }
  const { spec } = layout;
  const values: Record<string, CellValue> = {};
  const typed: CellValue[] = [];
  for (let i = 0; i < spec.columns.length; i++) {
    const column = spec.columns[i] as ColumnSpec;
    const raw = (cells[layout.indexes[i] as number] ?? '').trim();
    const value = readValue(raw, column, timeZone);
    if (value instanceof Rejection) return { kind: 'rejected', reason: `${column.name}: ${value.reason}` };
    values[column.name] = value;
    typed.push(value);
  }
  const date = typed[layout.dateIndex];
  if (typeof date !== 'string') return { kind: 'rejected', reason: `${spec.dateColumn}: missing` };

  let extra: Record<string, string> | undefined;
  if (layout.extra.length > 0) {
    extra = {};
    for (const column of layout.extra) extra[column.name] = cells[column.index] ?? '';
  }

  const identityText = [spec.type, ...layout.identity.map((i) => canonical(typed[i] ?? null))].join('\u001f');
  const identity = createHash('sha1').update(identityText).digest('hex');
  const sk = rowSortKey(new Date(date).toISOString(), identity);
  const digest = createHash('sha1')
    .update(JSON.stringify(typed))
    .update(extra ? JSON.stringify(extra) : '')
    .digest('hex');
  const completeValue = layout.completeIndex === undefined ? undefined : typed[layout.completeIndex];
  const complete = completeValue === true || (typeof completeValue === 'string' && /^yes$/i.test(completeValue));

  return {
    kind: 'row',
    row: {
      sk,
      shard: Number.parseInt(identity.slice(0, 8), 16) % shards,
      date: date.slice(0, 10),
      values,
      ...(extra ? { extra } : {}),
      complete,
      digest,
    },
  };
}

class Rejection {
  constructor(readonly reason: string) {}
}

function readValue(raw: string, column: ColumnSpec, timeZone: string): CellValue | Rejection {
  if (raw === '') return null;
  switch (column.kind) {
    case 'text':
      return raw;
    case 'datetime':
      return localToIso(raw, timeZone) ?? new Rejection(`not a date and time: ${clip(raw)}`);
    case 'duration_ms': {
      const n = Number(raw);
      return Number.isFinite(n) ? n : new Rejection(`not a number: ${clip(raw)}`);
    }
    case 'count': {
      const n = Number(raw);
      if (!Number.isFinite(n)) return new Rejection(`not a number: ${clip(raw)}`);
      return Number.isInteger(n) ? n : new Rejection(`not a whole number: ${clip(raw)}`);
    }
    case 'flag': {
      const n = Number(raw);
      if (n === 1 || /^true$/i.test(raw)) return true;
      if (n === 0 || /^false$/i.test(raw)) return false;
      return new Rejection(`not 0 or 1: ${clip(raw)}`);
    }
  }
}

function canonical(value: CellValue): string {
  return value === null ? '' : String(value);
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
