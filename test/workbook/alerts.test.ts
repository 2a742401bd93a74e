import { describe, expect, it } from 'vitest';
import { type AlertRule, loadConfigFile, parseConfig } from '../../functions/common/config.ts';
import { emptyCounts } from '../../functions/common/contracts.ts';
import { dayHours, dayWindow } from '../../functions/common/time.ts';
import { evaluateAlerts } from '../../functions/workbook/alerts.ts';
import type { DayContent, HourFigures } from '../../functions/workbook/stats.ts';

const timeZone = 'America/Chicago';

/** A day of `date` whose IB_Calls hours have the given volumes (3 agents each), last exported at `lastExportAt`. */
function day(date: string, volumes: number[], lastExportAt: string): DayContent {
  const start = dayWindow(date, timeZone).start;
  const hours = dayHours(date, timeZone).map((h, slot) => ({ ...h, startMs: start + slot * 3_600_000 }));
  const figures: HourFigures[] = hours.map((_, slot) => ({
    volume: volumes[slot] ?? 0,
    agents: 3,
    handled: 0,
    handleMs: 0,
    loggedInMs: 0,
    onQueueMs: 0,
    rejectedRows: 0,
  }));
  return {
    types: [{ type: 'IB_Calls', tab: 'IB Calls', rows: 1, lastExportAt, ingest: emptyCounts(), files: 1 }],
    missing: [],
    late: [],
    hourly: [],
    kpis: {},
    agents: [],
    everyone: {},
    hourFigures: new Map([['IB_Calls', figures]]),
    hours,
  };
}

function rule(partial: Partial<AlertRule>): AlertRule {
  const config = parseConfig({
    ...loadConfigFile(),
    alerts: { rules: [{ name: 'calls-low', type: 'IB_Calls', metric: 'handled', below: 10, ...partial }] },
  });
  return config.alerts?.rules[0] as AlertRule;
}

describe('evaluateAlerts', () => {
  it('tells the two 01:00 hours of the day the clocks go back apart', () => {
    // 2026-11-01: 00:00 CDT, 01:00 CDT, 01:00 CST, 02:00 … (25 hours).
    const volumes = [20, 5, 20, 5, 20];
    const status = evaluateAlerts([rule({})], day('2026-11-01', volumes, '2026-11-01T10:00:00Z')).rules[0];
    expect(status?.breached.map((h) => h.hour)).toEqual(['01:00 CDT', '02:00']);
    expect(status?.recovered.map((h) => h.hour)).toEqual(['01:00 CST', '03:00']);
  });

  it('checks only the hours the rule covers, and only those the exports have completed', () => {
    const volumes = Array.from({ length: 24 }, (_, hour) => (hour === 7 || hour === 12 ? 1 : 50));
    // Exported at 12:30 CDT: 12:00–13:00 is not complete yet.
    const status = evaluateAlerts(
      [rule({ hours: { from: '08:00', to: '18:00' } })],
      day('2026-03-09', volumes, '2026-03-09T17:30:00Z'),
    ).rules[0];
    expect(status).toMatchObject({ evaluated: 4, breached: [], recovered: [] });
    const later = evaluateAlerts(
      [rule({ hours: { from: '08:00', to: '18:00' } })],
      day('2026-03-09', volumes, '2026-03-09T23:30:00Z'),
    ).rules[0];
    expect(later).toMatchObject({
      evaluated: 10,
      breached: [{ hour: '12:00', value: 1 }],
      recovered: [{ hour: '13:00' }],
    });
  });

  it('leaves an hour short of the minimum sample neither breached nor fine', () => {
    const volumes = Array.from({ length: 24 }, () => 1);
    const status = evaluateAlerts([rule({ minAgents: 4 })], day('2026-03-09', volumes, '2026-03-10T06:00:00Z'))
      .rules[0];
    expect(status).toMatchObject({ evaluated: 24, tooSmall: 24, breached: [], recovered: [] });
  });
});
