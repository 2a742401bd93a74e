/**
 * Wall-clock arithmetic in the contact center's time zone with the platform's Intl data,
 * so DST days (23 and 25 hours) come out right without a date library.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(instantMs: number, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** Offset of the zone from UTC at an instant, in minutes (Chicago in winter: -360). */
export function offsetMinutes(instantMs: number, timeZone: string): number {
  const w = wallClock(instantMs, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(instantMs / 1000) * 1000) / 60000);
}

const localPattern = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?$/;

/**
 * The instant of a local wall-clock time. In the autumn overlap the earlier (daylight)
 * instant is taken; a time in the spring gap is moved forward by the gap, as clocks do.
 * Returns undefined when the text is not a local datetime.
 */
export function localToInstant(local: string, timeZone: string): number | undefined {
  const m = localPattern.exec(local);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(asUtc).getUTCDate() !== day) return undefined;
  // Try the offsets in force a day either side: one of them maps back to this wall time.
  const before = offsetMinutes(asUtc - 86_400_000, timeZone);
  const after = offsetMinutes(asUtc + 86_400_000, timeZone);
  const candidates = [...new Set([before, after])]
    .map((offset) => asUtc - offset * 60_000)
    .filter((instant) => offsetMinutes(instant, timeZone) * 60_000 === asUtc - instant)
    .sort((a, b) => a - b);
  if (candidates[0] !== undefined) return candidates[0];
  // Spring-forward gap: the wall time does not exist; read with the offset before the
  // change, it lands after the gap, as clocks do (02:30 → 03:30).
  return asUtc - before * 60_000;
}

const isoCache = new Map<string, string | undefined>();

/**
 * `2026-03-09 08:00:00` in the zone → `2026-03-09T08:00:00-05:00`. Cached: an export has
 * few distinct times and this sits on the ingest hot path.
 */
export function localToIso(local: string, timeZone: string): string | undefined {
  const cacheKey = `${timeZone}|${local}`;
  if (isoCache.has(cacheKey)) return isoCache.get(cacheKey);
  const instant = localToInstant(local, timeZone);
  const iso = instant === undefined ? undefined : instantToIso(instant, timeZone);
  if (isoCache.size > 100_000) isoCache.clear();
  isoCache.set(cacheKey, iso);
  return iso;
}

/** An instant as local ISO time with its offset. */
export function instantToIso(instantMs: number, timeZone: string): string {
  const w = wallClock(instantMs, timeZone);
  const offset = offsetMinutes(instantMs, timeZone);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The local calendar date of an instant, `YYYY-MM-DD`. */
export function localDate(instantMs: number, timeZone: string): string {
  const w = wallClock(instantMs, timeZone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function isDate(value: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && addDays(value, 0) === value
  );
}

/** Local midnight to the next local midnight: 23, 24 or 25 hours. */
export function dayWindow(date: string, timeZone: string): { start: number; end: number } {
  const start = localToInstant(`${date} 00:00:00`, timeZone);
  const end = localToInstant(`${addDays(date, 1)} 00:00:00`, timeZone);
  if (start === undefined || end === undefined) throw new Error(`Not a date: ${date}`);
  return { start, end };
}

/** One hour of a local day, as the clocks show it. */
export interface LocalHour {
  /** The wall-clock hour it starts at, 0–23. */
  hour: number;
  /** The UTC offset local ISO times carry in it, `-05:00`. */
  offset: string;
  /** The zone's abbreviation (CDT, CST), only where the hour repeats because the clocks go back. */
  zone?: string;
}

const zoneNames = new Map<string, Intl.DateTimeFormat>();

function zoneName(instantMs: number, timeZone: string): string {
  let f = zoneNames.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'short' });
    zoneNames.set(timeZone, f);
  }
  return f.formatToParts(new Date(instantMs)).find((part) => part.type === 'timeZoneName')?.value ?? '';
}

/**
 * The hours of a local day in order: 24, or 23 on the day the clocks go forward (no 02:00 in
 * Chicago) and 25 on the day they go back (01:00 twice, named CDT then CST).
 */
export function dayHours(date: string, timeZone: string): LocalHour[] {
  const { start, end } = dayWindow(date, timeZone);
  const hours: (LocalHour & { instant: number })[] = [];
  for (let instant = start; instant < end; instant += 3_600_000) {
    const iso = instantToIso(instant, timeZone);
    hours.push({ hour: Number(iso.slice(11, 13)), offset: iso.slice(19), instant });
  }
  return hours.map(({ instant, ...hour }) =>
    hours.filter((other) => other.hour === hour.hour).length > 1
      ? { ...hour, zone: zoneName(instant, timeZone) }
      : hour,
  );
}

/** The business day that has just ended at `instantMs`: yesterday, locally. */
export function previousLocalDate(instantMs: number, timeZone: string): string {
  return addDays(localDate(instantMs, timeZone), -1);
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
