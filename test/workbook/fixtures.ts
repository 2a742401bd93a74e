import { type Config, loadConfigFile, parseConfig } from '../../functions/common/config.ts';
import { emptyCounts, type IngestResult } from '../../functions/common/contracts.ts';
import type { CellValue } from '../../functions/common/rows.ts';
import type { RunProblems } from '../../functions/workbook/problems.ts';
import type { SourceRow } from '../../functions/workbook/stats.ts';
import type { WorkbookRun } from '../../functions/workbook/workbook.ts';

const shipped = loadConfigFile();

/** The shipped configuration, with IB Calls showing its interval, completeness and agent id to the right. */
export const config: Config = parseConfig({
  ...shipped,
  exports: shipped.exports.map((spec) =>
    spec.type === 'IB_Calls' ? { ...spec, extraColumns: ['Interval Start', 'Interval Complete', 'Agent Id'] } : spec,
  ),
});

export const DAY = '2026-03-09';

function at(hour: number, minute = 0): string {
  return `${DAY}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00-05:00`;
}

function interval(hour: number, agent: string, figures: Record<string, CellValue>): Record<string, CellValue> {
  return {
    'Interval Start': at(hour),
    'Interval End': at(hour + 1),
    'Interval Complete': hour < 9,
    Filters: 'Queue: Inbound',
    'Media Type': 'voice',
    'Agent Id': `id-${agent.toLowerCase().replace(/\W+/g, '-')}`,
    'Agent Name': agent,
    ...figures,
  };
}

function rows(exportedAt: string, values: Record<string, CellValue>[]): SourceRow[] {
  return values.map((v) => ({ values: v, exportedAt }));
}

/** A small day in workbook order (interval, then agent): every kind of cell, the KPIs' inputs, a late and two missing exports. */
export const rowsByType: Record<string, SourceRow[]> = {
  IB_Calls: [
    ...rows('2026-03-09T15:00:00.000Z', [
      interval(8, 'alice Adams', { Handle: 7, 'Avg Handle': 120_000 }),
      interval(8, 'Bob Brown', { Handle: 1, 'Avg Handle': 60_000 }),
      interval(8, 'Zed Zimmer', { Handle: 2, 'Avg Handle': 3_723_000 }),
    ]),
    ...rows('2026-03-09T14:00:00.000Z', [
      interval(9, 'Bob Brown', { Handle: 4, 'Avg Handle': 90_000 }),
      // Avg Handle unknown: an empty cell, and the calls count without a handle time.
      interval(9, 'José Peña', { Handle: 3, 'Avg Handle': null }),
    ]),
  ],
  QCBS: rows('2026-03-09T12:00:00.000Z', [interval(7, 'Bob Brown', { Handle: 5 })]),
  Dials: rows('2026-03-09T15:00:00.000Z', [
    interval(8, 'Bob Brown', {
      Handle: 2,
      'Avg Handle': 300_000,
      'Avg Talk': 200_000,
      // Both dials talked and had ACW, one was held: Avg Hold is per hold.
      'Avg Hold': 50_000,
      'Avg ACW': 75_000,
      'Total Handle': 600_000,
      'Total Talk': 400_000,
      'Total Hold': 50_000,
      'Total ACW': 150_000,
    }),
  ]),
  Productivity: rows('2026-03-09T14:30:00.000Z', [
    interval(8, 'alice Adams', {
      'Logged In': 1_800_000,
      'On Queue': 1_800_000,
      Idle: 900_000,
      'Off Queue': 0,
      Interacting: 900_000,
    }),
    interval(8, 'Bob Brown', {
      'Logged In': 3_600_000,
      'On Queue': 2_700_000,
      Idle: 900_000,
      'Off Queue': 900_000,
      Interacting: 1_800_000,
    }),
  ]),
  Campaign_Interactions: rows('2026-03-09T15:00:00.000Z', [
    {
      'Full Export Completed': 'YES',
      'Partial Result Timestamp': null,
      Filters: '',
      Users: 'Carol <Chen> & Co',
      Date: at(10, 15),
      'Initial Direction': 'Outbound',
      // A control character XML cannot hold, as some exports carry: dropped.
      'First Queue': ' Campaign A\u0007',
    },
  ]),
};

export const ingested: IngestResult[] = [
  { key: 'raw/a.csv', type: 'IB_Calls', counts: { ...emptyCounts(), read: 6, inserted: 5, rejected: 1, blank: 150 } },
  { key: 'raw/b.csv', type: 'IB_Calls', counts: { ...emptyCounts(), read: 5, unchanged: 5 } },
  { key: 'raw/c.csv', type: 'Dials', counts: { ...emptyCounts(), read: 1, inserted: 1 } },
];

export const report: WorkbookRun = {
  run: {
    date: DAY,
    reports: config.exports.map((spec) => spec.type),
    force: false,
    deliver: true,
    executionId: 'arn:aws:states:us-east-1:000000000000:execution:charlie:run-1',
    window: { start: '2026-03-09T05:00:00.000Z', end: '2026-03-10T07:00:00.000Z' },
  },
  ingested,
  mail: {
    messagesSeen: 40,
    messagesMatched: 38,
    messagesIgnored: 2,
    ignored: [],
    attachmentsStored: 3,
    attachmentsAlreadyStored: 35,
    agentFiles: 0,
  },
  generatedAt: new Date('2026-03-10T12:00:05Z'),
};

/** The fixture's rows of a type, as one batch per interval like the merge yields them. */
export async function* fixtureRows(type: string): AsyncGenerator<SourceRow[]> {
  const byInstant = new Map<string, SourceRow[]>();
  for (const row of rowsByType[type] ?? []) {
    const spec = config.exports.find((s) => s.type === type);
    const key = String(row.values[spec?.dateColumn ?? '']);
    byInstant.set(key, [...(byInstant.get(key) ?? []), row]);
  }
  yield* byInstant.values();
}

/** A run's problems as build reads them: a file rejected whole, rejected rows, mail left out, an input kept aside. */
export const problems: NonNullable<WorkbookRun['problems']> = {
  run: {
    rejectedFiles: [{ key: 'raw/2026-03-09/QCBS/q.csv', type: 'QCBS', reason: 'the file is empty' }],
    rows: [
      {
        type: 'IB_Calls',
        file: 'raw/2026-03-09/IB_Calls/a.csv',
        line: 7,
        reason: 'Handle: not a number: abc',
        raw: "2026-03-09 08:00:00,'=1+2,abc",
      },
    ],
    rowCount: 1,
    reasons: [{ reason: 'Handle: not a number', count: 1 }],
    rejectsObjects: [
      {
        file: 'raw/2026-03-09/IB_Calls/a.csv',
        type: 'IB_Calls',
        uri: 's3://data/rejects/2026-03-09/IB_Calls/a.rejects.csv',
        rows: 1,
      },
    ],
    suspiciousIgnored: [
      {
        messageId: '<m@example.com>',
        subject: 'IB Calls export',
        reason: 'sender noreply@mypurecloud.com is not accepted (mailbox.senders)',
        example: 'IB_Calls.csv: sender noreply@mypurecloud.com is not accepted (mailbox.senders)',
        fix: 'add it or its domain to mailbox.senders',
        count: 3,
      },
    ],
  } satisfies RunProblems,
  quarantined: [
    {
      source: 'message:abc',
      stage: 'collect',
      date: DAY,
      reason: 'not valid MIME',
      at: '2026-03-09T16:00:00.000Z',
      detail: { subject: 'Dials export' },
    },
  ],
};
