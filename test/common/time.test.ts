import { describe, expect, it } from 'vitest';
import { dayWindow, localToIso, previousLocalDate } from '../../functions/common/time.ts';

const tz = 'America/Chicago';

describe('local time in the center time zone', () => {
  it('gives standard and daylight offsets', () => {
    expect(localToIso('2026-01-15 08:00:00', tz)).toBe('2026-01-15T08:00:00-06:00');
    expect(localToIso('2026-07-15 08:00:00', tz)).toBe('2026-07-15T08:00:00-05:00');
  });

  it('handles the spring-forward day 2026-03-08', () => {
    expect(localToIso('2026-03-08 01:59:59', tz)).toBe('2026-03-08T01:59:59-06:00');
    // 02:30 does not exist that day: clocks jump to 03:30.
    expect(localToIso('2026-03-08 02:30:00', tz)).toBe('2026-03-08T03:30:00-05:00');
    expect(localToIso('2026-03-08 03:00:00', tz)).toBe('2026-03-08T03:00:00-05:00');
    const day = dayWindow('2026-03-08', tz);
    expect((day.end - day.start) / 3_600_000).toBe(23);
  });

  it('handles the fall-back day 2026-11-01', () => {
    // 01:30 happens twice; the first (daylight) one is taken.
    expect(localToIso('2026-11-01 01:30:00', tz)).toBe('2026-11-01T01:30:00-05:00');
    expect(localToIso('2026-11-01 02:00:00', tz)).toBe('2026-11-01T02:00:00-06:00');
    const day = dayWindow('2026-11-01', tz);
    expect((day.end - day.start) / 3_600_000).toBe(25);
  });

  it('refuses what is not a local datetime', () => {
    expect(localToIso('2026-02-30 08:00:00', tz)).toBeUndefined();
    expect(localToIso('yesterday', tz)).toBeUndefined();
    expect(localToIso('2026-03-09 24:00:00', tz)).toBeUndefined();
  });

  it('names the business day that has just ended', () => {
    expect(previousLocalDate(Date.parse('2026-03-09T11:00:00Z'), tz)).toBe('2026-03-08');
    // 00:30 UTC on 3 March is still 2 March in Chicago.
    expect(previousLocalDate(Date.parse('2026-03-03T00:30:00Z'), tz)).toBe('2026-03-01');
  });
});
