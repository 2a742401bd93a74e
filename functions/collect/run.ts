import type { Config } from '../shared/config.ts';
import type { Run, RunInput } from '../shared/contracts.ts';
import { dayWindow, instantToIso, isDate, localDate, previousLocalDate } from '../shared/time.ts';

export class RunInputError extends Error {
  override name = 'RunInputError';
}

const isoInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const knownFields = new Set(['date', 'reports', 'force', 'deliver', 'scheduledTime', 'intraday']);

/**
 * Decides the run once from the execution input: business date, export types, flags and
 * the window of receipt times to collect (the local day plus the grace period).
 */
export function resolveRun(input: RunInput, executionId: string, config: Config, nowMs: number): Run {
  const fields = checkInput(input, config);
  const scheduledMs = fields.scheduledTime === undefined ? nowMs : Date.parse(fields.scheduledTime);
  const date =
    fields.date ??
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
  return { date, reports, force, deliver, executionId, window, ...(intradayTime ? { intradayTime } : {}) };
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

  if (record.scheduledTime !== undefined) {
    const value = record.scheduledTime;
    if (typeof value !== 'string' || !isoInstant.test(value) || Number.isNaN(Date.parse(value))) {
      throw new RunInputError(`scheduledTime must be an ISO 8601 instant with Z or an offset, got ${describe(value)}`);
    }
    result.scheduledTime = value;
  }
  return result;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
