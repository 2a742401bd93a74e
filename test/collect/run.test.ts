import { describe, expect, it } from 'vitest';
import { resolveRun } from '../../functions/collect/run.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { RunInput } from '../../functions/common/contracts.ts';

const config = loadConfigFile();
const executionId = 'arn:aws:states:us-east-1:000000000000:execution:charlie:test';
const allTypes = ['IB_Calls', 'QCBS', 'Dials', 'Productivity', 'Campaign_Interactions', 'ACQ', 'RESC'];
const at = (iso: string) => Date.parse(iso);

describe('resolveRun', () => {
  it('defaults to the local day that has just ended, every type, deliver without force', () => {
    // 03:30 UTC on 2026-03-10 is still 2026-03-09 in Chicago (22:30 CDT): yesterday is 2026-03-08.
    const run = resolveRun({}, executionId, config, at('2026-03-10T03:30:00Z'));
    expect(run).toEqual({
      date: '2026-03-08',
      reports: allTypes,
      force: false,
      deliver: true,
      executionId,
      window: { start: '2026-03-08T06:00:00.000Z', end: '2026-03-09T07:00:00.000Z' },
    });
  });

  it('takes the business date from the scheduled time, across DST changes', () => {
    expect(resolveRun({ scheduledTime: '2026-03-09T11:00:00Z' }, executionId, config, 0).date).toBe('2026-03-08');
    expect(resolveRun({ scheduledTime: '2026-11-02T12:00:00Z' }, executionId, config, 0).date).toBe('2026-11-01');
    // The scheduled time wins over the clock.
    expect(
      resolveRun({ scheduledTime: '2026-03-09T11:00:00Z' }, executionId, config, at('2026-06-01T12:00:00Z')).date,
    ).toBe('2026-03-08');
  });

  it('reports the day so far for intraday schedules', () => {
    const run = resolveRun({ scheduledTime: '2026-03-09T20:00:00Z', intraday: true }, executionId, config, 0);
    expect(run.date).toBe('2026-03-09');
    // 20:00Z is 15:00 in Chicago (CDT): the intraday workbook is named with the local time.
    expect(run.intradayTime).toBe('1500');
    expect(resolveRun({ intraday: true }, executionId, config, at('2026-03-10T04:30:00Z')).date).toBe('2026-03-09');
    expect(resolveRun({ scheduledTime: '2026-03-09T20:00:00Z' }, executionId, config, 0).intradayTime).toBeUndefined();
  });

  it('windows the 23-hour spring-forward day plus the grace period', () => {
    const run = resolveRun({ date: '2026-03-08' }, executionId, config, 0);
    const hours = (Date.parse(run.window.end) - Date.parse(run.window.start)) / 3_600_000;
    expect(hours).toBe(23 + config.mailbox.graceMinutes / 60);
    // Local midnight CST (-06:00) to the next local midnight CDT (-05:00), plus 120 minutes.
    expect(run.window).toEqual({ start: '2026-03-08T06:00:00.000Z', end: '2026-03-09T07:00:00.000Z' });
  });

  it('windows the 25-hour fall-back day', () => {
    const run = resolveRun({ date: '2026-11-01' }, executionId, config, 0);
    expect(run.window).toEqual({ start: '2026-11-01T05:00:00.000Z', end: '2026-11-02T08:00:00.000Z' });
  });

  it('keeps an explicit date, report list and flags; deliver:true forces', () => {
    expect(resolveRun({ date: '2026-03-09', reports: ['Dials'] }, executionId, config, 0)).toMatchObject({
      date: '2026-03-09',
      reports: ['Dials'],
      force: false,
      deliver: true,
    });
    expect(resolveRun({ date: '2026-03-09', force: true }, executionId, config, 0)).toMatchObject({ force: true });
    expect(resolveRun({ date: '2026-03-09', deliver: true }, executionId, config, 0)).toMatchObject({
      force: true,
      deliver: true,
    });
    expect(resolveRun({ date: '2026-03-09', deliver: false }, executionId, config, 0)).toMatchObject({
      force: false,
      deliver: false,
    });
  });

  it('spells report types as configured and drops repeats', () => {
    const run = resolveRun({ date: '2026-03-09', reports: ['dials', 'ib_calls', 'Dials'] }, executionId, config, 0);
    expect(run.reports).toEqual(['Dials', 'IB_Calls']);
  });

  it.each([
    [{ date: '2026-02-30' }, /^date must be a calendar date YYYY-MM-DD, got "2026-02-30"/],
    [{ date: '09/03/2026' }, /^date must be/],
    [{ date: 20260309 }, /^date must be/],
    [
      { reports: ['Dials', 'Callbacks'] },
      /^reports: "Callbacks" is not a configured export type; expected one of IB_Calls/,
    ],
    [{ reports: [] }, /^reports must be a non-empty list/],
    [{ reports: 'Dials' }, /^reports must be a non-empty list/],
    [{ force: 'yes' }, /^force must be true or false, got "yes"/],
    [{ deliver: 1 }, /^deliver must be true or false/],
    [{ intraday: 'true' }, /^intraday must be true or false/],
    [{ scheduledTime: 'tomorrow' }, /^scheduledTime must be an ISO 8601 instant/],
    [{ scheduledTime: '2026-03-09T11:00:00' }, /^scheduledTime must be an ISO 8601 instant with Z or an offset/],
    [{ dat: '2026-03-09' }, /unknown field "dat"/],
  ])('rejects %j with a message naming the field', (input, message) => {
    expect(() => resolveRun(input as unknown as RunInput, executionId, config, 0)).toThrow(message);
  });

  it('rejects an input that is not an object', () => {
    expect(() => resolveRun(['2026-03-09'] as unknown as RunInput, executionId, config, 0)).toThrow(
      /Execution input must be a JSON object/,
    );
  });

  it('takes the day of the raw files to undo, and needs a day for a message id', () => {
    const key = `raw/2026-03-09/Dials/${'a'.repeat(64)}.csv`;
    expect(resolveRun({ undo: [key] }, executionId, config, 0)).toMatchObject({ date: '2026-03-09', undo: [key] });
    expect(resolveRun({ undo: [' <m1@x> '], date: '2026-03-08' }, executionId, config, 0).undo).toEqual(['<m1@x>']);
    expect(() => resolveRun({ undo: ['<m1@x>'] }, executionId, config, 0)).toThrow(/needs the day/);
    expect(() => resolveRun({ undo: [key], date: '2026-03-08' }, executionId, config, 0)).toThrow(
      /one day; got 2026-03-08, 2026-03-09/,
    );
    for (const bad of [[], 'raw/x.csv', [''], [3]]) {
      expect(() => resolveRun({ undo: bad } as unknown as RunInput, executionId, config, 0)).toThrow(
        /undo must be a non-empty list/,
      );
    }
  });
});
