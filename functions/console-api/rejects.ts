import type { IngestResult } from '../common/contracts.ts';
import { readRunResults } from '../common/run-records.ts';
import { formatCsvRow } from '../ingest/csv.ts';
import { rejectRecords } from '../workbook/problems.ts';
import type { DaysDeps } from './days.ts';

/**
 * The most bytes of CSV one response carries: a Lambda response is at most 6 MB. Past it, the
 * rows that do not fit are counted on a last line naming the rejects objects that hold them all.
 */
export const maxRejectsCsvBytes = 5 * 1024 * 1024;

/**
 * Every rejected row of the day's latest build, with its file, line and reason, as CSV: read
 * from the rejects objects of the run's files (`rejects/<date>/<type>/<sha256>.rejects.csv`).
 * The row's own cells follow, as exported (formula-like text starts with `'`).
 */
export async function rejectsCsv(
  deps: DaysDeps,
  date: string,
  executionId: string,
): Promise<{ csv: string; rows: number; left: number }> {
  const bucket = deps.resources.dataBucket;
  const results = await readRunResults<IngestResult>(deps.s3, bucket, { date, executionId }, 'ingested');
  const lines: Uint8Array[] = [formatCsvRow(['raw key', 'type', 'line', 'reason', 'row'])];
  let bytes = lines[0]?.length ?? 0;
  let rows = 0;
  let left = 0;
  for (const result of results) {
    if (!result.rejectsKey) continue;
    for await (const [line = '', reason = '', ...cells] of rejectRecords(deps.s3, bucket, result.rejectsKey)) {
      const row = Buffer.from(formatCsvRow(cells)).toString('utf8').replace(/\r\n$/, '');
      const encoded = formatCsvRow([result.key, result.type, line, reason, row]);
      if (left > 0 || bytes + encoded.length > maxRejectsCsvBytes) {
        left++;
        continue;
      }
      lines.push(encoded);
      bytes += encoded.length;
      rows++;
    }
  }
  if (left > 0) {
    lines.push(
      formatCsvRow([
        '',
        '',
        '',
        `${left} more rejected rows than one download holds: every one is in s3://${bucket}/rejects/${date}/ (*.rejects.csv)`,
        '',
      ]),
    );
  }
  return { csv: Buffer.concat(lines).toString('utf8'), rows, left };
}
