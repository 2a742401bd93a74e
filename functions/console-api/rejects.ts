import type { IngestResult } from '../common/contracts.ts';
import { readRunResults } from '../common/run-records.ts';
import { formatCsvRow } from '../ingest/csv.ts';
import { rejectRecords } from '../workbook/problems.ts';
import type { DaysDeps } from './days.ts';

/**
 * Every rejected row of the day's latest build, with its file, line and reason, as CSV: read
 * from the rejects objects of the run's files (`rejects/<date>/<type>/<sha256>.rejects.csv`).
 * The row's own cells follow, as exported (formula-like text starts with `'`).
 */
export async function rejectsCsv(deps: DaysDeps, date: string, executionId: string): Promise<string> {
  const bucket = deps.resources.dataBucket;
  const results = await readRunResults<IngestResult>(deps.s3, bucket, { date, executionId }, 'ingested');
  const lines: Uint8Array[] = [formatCsvRow(['raw key', 'type', 'line', 'reason', 'row'])];
  for (const result of results) {
    if (!result.rejectsKey) continue;
    for await (const [line = '', reason = '', ...cells] of rejectRecords(deps.s3, bucket, result.rejectsKey)) {
      const row = Buffer.from(formatCsvRow(cells)).toString('utf8').replace(/\r\n$/, '');
      lines.push(formatCsvRow([result.key, result.type, line, reason, row]));
    }
  }
  return Buffer.concat(lines).toString('utf8');
}
