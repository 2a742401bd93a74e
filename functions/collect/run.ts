import type { Config } from '../common/config.ts';
import type { Run, RunInput } from '../common/contracts.ts';
import { CharlieError } from '../common/errors.ts';
import { rawKeyParts } from '../common/keys.ts';
import { dayWindow, instantToIso, isDate, localDate, previousLocalDate } from '../common/time.ts';

export class RunInputError extends CharlieError {
  override name = 'RunInputError';
}

const isoInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const knownFields = new Set(['date', 'reports', 'force', 'deliver', 'scheduledTime', 'intraday', 'undo', 'release']);

/**
 * Decides the run once from the execution input: business date, export types, flags and
 * the window of receipt times to collect (the local day plus the grace period).
 */
export function resolveRun(input: RunInput, executionId: string, config: Config, nowMs: number): Run {
  const fields = checkInput(input, config);
  const scheduledMs = fields.scheduledTime === undefined ? nowMs : Date.parse(fields.scheduledTime);
  const date =
    fields.date ??
    undoDate(fields.undo) ??
    (fields.intraday ? localDate(scheduledMs, config.timeZone) : previousLocalDate(scheduledMs, config.timeZone));
  const reports = fields.reports ?? config.exports.map((spec) => spec.type);
  const deliver = fields.deliver ?? true;
  // Sending again is forced explicitly, or by asking for delivery explicitly.
  const force = fields.force === true || fields.deliver === true;
  const day = dayWindow(date, config.timeZone);
  const window = {
    start: new Date(day.start).toISOString(),
    end: new Date(day.end + config.mailbox.graceMinutes * 60_000).toISOString(),
  };
  // An intraday run's workbook is named with its local time, so the day's runs do not overwrite each other.
  const intradayTime = fields.intraday
    ? instantToIso(scheduledMs, config.timeZone).slice(11, 16).replace(':', '')
    : undefined;
  return {
    date,
    reports,
    force,
    deliver,
    executionId,
    window,
    ...(intradayTime ? { intradayTime } : {}),
    ...(fields.undo ? { undo: fields.undo } : {}),
    ...(fields.release ? { release: fields.release } : {}),
  };
}

/** The day of the raw keys to undo, when the input names no date. */
function undoDate(undo: string[] | undefined): string | undefined {
  for (const source of undo ?? []) {
    const date = rawKeyParts(source)?.date;
    if (date) return date;
  }
  return undefined;
}

function checkInput(input: unknown, config: Config): RunInput {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new RunInputError(`Execution input must be a JSON object, got ${describe(input)}`);
  }
  const record = input as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !knownFields.has(key));
  if (unknown.length > 0) {
    throw new RunInputError(
      `Execution input has unknown field ${unknown.map((k) => `"${k}"`).join(', ')}; expected ${[...knownFields].join(', ')}`,
    );
  }
  const result: RunInput = {};

  if (record.date !== undefined) {
    if (typeof record.date !== 'string' || !isDate(record.date)) {
      throw new RunInputError(`date must be a calendar date YYYY-MM-DD, got ${describe(record.date)}`);
    }
    result.date = record.date;
  }

  if (record.reports !== undefined) {
    if (!Array.isArray(record.reports) || record.reports.length === 0) {
      throw new RunInputError(`reports must be a non-empty list of export types, got ${describe(record.reports)}`);
    }
    const reports: string[] = [];
    for (const entry of record.reports as unknown[]) {
      const spec =
        typeof entry === 'string'
          ? config.exports.find((e) => e.type.toLowerCase() === entry.trim().toLowerCase())
          : undefined;
      if (!spec) {
        throw new RunInputError(
          `reports: ${describe(entry)} is not a configured export type; expected one of ${config.exports.map((e) => e.type).join(', ')}`,
        );
      }
      if (!reports.includes(spec.type)) reports.push(spec.type);
    }
    result.reports = reports;
  }

  for (const flag of ['force', 'deliver', 'intraday'] as const) {
    const value = record[flag];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw new RunInputError(`${flag} must be true or false, got ${describe(value)}`);
    result[flag] = value;
  }

  if (record.undo !== undefined) result.undo = checkUndo(record.undo, result.date);

  if (record.release !== undefined) {
    const value = record.release;
    if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string' || v.trim() === '')) {
      throw new RunInputError(
        `release must be a non-empty list of quarantined source ids (or "all"), got ${describe(value)}`,
      );
    }
    if (result.date === undefined)
      throw new RunInputError('release needs the day: add "date": "YYYY-MM-DD" to the input');
    result.release = (value as string[]).map((v) => v.trim());
  }

  if (record.scheduledTime !== undefined) {
    const value = record.scheduledTime;
    if (typeof value !== 'string' || !isoInstant.test(value) || Number.isNaN(Date.parse(value))) {
      throw new RunInputError(`scheduledTime must be an ISO 8601 instant with Z or an offset, got ${describe(value)}`);
    }
    result.scheduledTime = value;
  }
  return result;
}

function checkUndo(value: unknown, date: string | undefined): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string' || v.trim() === '')) {
    throw new RunInputError(
      `undo must be a non-empty list of raw file keys (raw/YYYY-MM-DD/<type>/<sha256>.csv) or message ids, got ${describe(value)}`,
    );
  }
  const sources = (value as string[]).map((v) => v.trim());
  const dates = new Set(sources.flatMap((source) => rawKeyParts(source)?.date ?? []));
  if (date !== undefined) dates.add(date);
  if (dates.size > 1) {
    throw new RunInputError(`undo: every file must belong to one day; got ${[...dates].sort().join(', ')}`);
  }
  if (dates.size === 0) {
    throw new RunInputError('undo by message id needs the day: add "date": "YYYY-MM-DD" to the input');
  }
  return sources;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
