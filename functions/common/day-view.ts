import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AgentKpis } from '../workbook/stats.ts';
import type { AlertsStatus, DayKpis, HourlyVolume, TypeSummary } from './contracts.ts';
import { runDayViewKey } from './keys.ts';
import { readJsonObject } from './objects.ts';

/**
 * What a build found in the day, kept beside the run's records for the console: the types and
 * their counts, lateness, volume by hour, the agents' KPIs and the first rejected rows. The
 * console reads this one object instead of the day's rows.
 */
export interface DayView {
  date: string;
  executionId: string;
  builtAt: string;
  /** Local `HHMM` of an intraday run. */
  intradayTime?: string;
  types: TypeSummary[];
  missing: string[];
  late: string[];
  hourly: HourlyVolume[];
  kpis: DayKpis;
  agents: { columns: string[]; rows: (string | number | null)[][] };
  rejectedRows: { rawKey: string; type: string; line: number; reason: string }[];
  rejectedRowsTotal: number;
  /** The day's threshold alerts as the workbook's Summary lists them; absent when no rule is configured. */
  alerts?: AlertsStatus;
  rejectedFiles: { rawKey: string; type: string; reason: string }[];
}

/** Rejected rows the view lists; all of them are in the rejects objects (the console's rejects.csv). */
export const dayViewRejectedRows = 200;

const agentColumns = [
  'Agent',
  'Calls',
  'Dials',
  'Avg handle (s)',
  'Avg talk (s)',
  'Holds',
  'Avg hold (s)',
  'Avg ACW (s)',
  'Logged in (h)',
  'On queue %',
  'Interacting %',
];

/** The agents' KPIs as a table of plain numbers: seconds, hours and percentages, one decimal. */
export function agentTable(agents: readonly { agent: string; kpis: AgentKpis }[]): DayView['agents'] {
  const round = (value: number | undefined, divisor: number) =>
    value === undefined ? null : Math.round((value / divisor) * 10) / 10;
  return {
    columns: agentColumns,
    rows: agents.map(({ agent, kpis }) => [
      agent,
      kpis.calls ?? null,
      kpis.dials ?? null,
      round(kpis.avgHandleMs, 1000),
      round(kpis.avgTalkMs, 1000),
      kpis.holds ?? null,
      round(kpis.avgHoldMs, 1000),
      round(kpis.avgAcwMs, 1000),
      round(kpis.loggedInMs, 3_600_000),
      round(kpis.onQueue, 0.01),
      round(kpis.interacting, 0.01),
    ]),
  };
}

export async function writeDayView(s3: S3Client, bucket: string, view: DayView): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: runDayViewKey(view.date, view.executionId),
      Body: JSON.stringify(view),
      ContentType: 'application/json',
    }),
  );
}

export function readDayView(s3: S3Client, bucket: string, date: string, executionId: string): Promise<DayView> {
  return readJsonObject<DayView>(s3, bucket, runDayViewKey(date, executionId));
}
