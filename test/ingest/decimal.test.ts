import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DecimalSetting, loadConfigFile, parseConfig } from '../../functions/common/config.ts';
import type { IngestResult, Run } from '../../functions/common/contracts.ts';
import { rejectsKey } from '../../functions/common/keys.ts';
import { CsvParser } from '../../functions/ingest/csv.ts';
import type { LocalStack } from '../../local/stack.ts';
import { IB_HEADER, type IngestHandlerOnStack, putSource, startIngestHandler, tableRows } from './files.ts';

/**
 * Exports whose numbers have a decimal comma, through the deployed Lambda handler
 * (functions/ingest/index.ts) against the local S3 and DynamoDB. IB_Calls keeps the default
 * `decimal: "auto"`; ACQ is set to `,` and RESC to `.` (the two share IB_Calls' header less
 * Avg Handle).
 */

const shipped = loadConfigFile();
const settings: Record<string, DecimalSetting> = { ACQ: ',', RESC: '.' };
const config = parseConfig({
  ...shipped,
  exports: shipped.exports.map((spec) => (settings[spec.type] ? { ...spec, decimal: settings[spec.type] } : spec)),
});
const run: Run = {
  date: '2026-03-09',
  reports: ['IB_Calls', 'ACQ', 'RESC'],
  force: false,
  deliver: true,
  executionId: 'arn:aws:states:us-east-1:000000000000:execution:charlie-daily-report:decimal',
  window: { start: '2026-03-09T05:00:00.000Z', end: '2026-03-10T07:00:00.000Z' },
};

let stack: LocalStack;
let ingestWithHandler: IngestHandlerOnStack['ingest'];
beforeAll(async () => {
  ({ stack, ingest: ingestWithHandler } = await startIngestHandler('decimal', config));
});
afterAll(async () => stack.stop());

const IB_COLUMNS = IB_HEADER.split(',');

/** The cells of a row of 2026-03-09 at `hour`, its agent `agentId`, with its number cells as written. */
function cells(hour: number, agentId: string, numbers: { complete: string; handle: string; avgHandle?: string }) {
  const h = String(hour).padStart(2, '0');
  const next = String(hour + 1).padStart(2, '0');
  const row = [
    `2026-03-09 ${h}:00:00`,
    `2026-03-09 ${next}:00:00`,
    numbers.complete,
    'Initial Direction: Inbound; Queue: LLSA-ACQ-DM',
    'voice',
    agentId,
    'José Peña',
    numbers.handle,
  ];
  return numbers.avgHandle === undefined ? row : [...row, numbers.avgHandle];
}

/** A file of rows in `delimiter`, cells holding it (or a quote) quoted as an export quotes them. */
function file(delimiter: string, header: string[], rows: string[][]): string {
  const cell = (text: string) =>
    text.includes(delimiter) || text.includes('"') ? `"${text.replaceAll('"', '""')}"` : text;
  return `${[header, ...rows].map((row) => row.map(cell).join(delimiter)).join('\r\n')}\r\n`;
}

async function ingest(type: string, body: string | Buffer): Promise<IngestResult & { stored: Map<string, unknown> }> {
  const source = await putSource(stack, type, body, '2026-03-09T15:00:00Z');
  const result = await ingestWithHandler(run, source);
  const { read, inserted, updated, unchanged, stale, rejected } = result.counts;
  expect(read).toBe(inserted + updated + unchanged + stale + rejected);
  const rows = (await tableRows(stack, stack.resources.table)).filter((row) => row.source.key === source.key);
  const stored = new Map(
    rows.map((row) => [
      row.values['Agent Id'] as string,
      { complete: row.complete, handle: row.values.Handle, avgHandle: row.values['Avg Handle'] },
    ]),
  );
  return { ...result, stored };
}

/** The rejects object's rows, as line and reason. */
async function rejectsOf(result: IngestResult): Promise<{ line: number; reason: string }[]> {
  const object = await stack.clients.s3.send(
    new GetObjectCommand({ Bucket: stack.resources.dataBucket, Key: rejectsKey(result.key) }),
  );
  const parser = new CsvParser();
  const records = [...parser.push((await object.Body?.transformToString()) ?? ''), ...parser.end()];
  return records.slice(1).map((record) => ({ line: Number(record.cells[0]), reason: record.cells[1] as string }));
}

describe('decimal "auto" (the default)', () => {
  it('reads a ;-delimited export with decimal commas, points between thousands', async () => {
    const result = await ingest(
      'IB_Calls',
      file(';', IB_COLUMNS, [
        cells(8, 'semi-1', { complete: '1,0', handle: '9,0', avgHandle: '900806,5' }),
        cells(9, 'semi-2', { complete: '0,0', handle: '12', avgHandle: '1.234,5' }),
        cells(10, 'semi-3', { complete: '1', handle: '3,0', avgHandle: '1.234.567,25' }),
      ]),
    );
    expect(result.counts).toMatchObject({ read: 3, inserted: 3, rejected: 0 });
    expect(Object.fromEntries(result.stored)).toEqual({
      'semi-1': { complete: true, handle: 9, avgHandle: 900806.5 },
      'semi-2': { complete: false, handle: 12, avgHandle: 1234.5 },
      'semi-3': { complete: true, handle: 3, avgHandle: 1234567.25 },
    });
  });

  it('rejects a number whose point may be decimal or thousands, saying so; the other rows are stored', async () => {
    const result = await ingest(
      'IB_Calls',
      file(';', IB_COLUMNS, [
        cells(8, 'ambiguous-1', { complete: '1,0', handle: '9,0', avgHandle: '900806,5' }),
        cells(9, 'ambiguous-2', { complete: '1,0', handle: '2,0', avgHandle: '1.234' }),
        cells(10, 'ambiguous-3', { complete: '1,0', handle: '4,0', avgHandle: '1.5' }),
      ]),
    );
    expect(result.counts).toMatchObject({ read: 3, inserted: 2, rejected: 1 });
    expect(await rejectsOf(result)).toEqual([
      {
        line: 3,
        reason: 'Avg Handle: ambiguous number: 1.234 (decimal point or thousands separator?) — set exports[].decimal',
      },
    ]);
    expect(Object.fromEntries(result.stored)).toEqual({
      'ambiguous-1': { complete: true, handle: 9, avgHandle: 900806.5 },
      'ambiguous-3': { complete: true, handle: 4, avgHandle: 1.5 },
    });
  });

  it('reads a ;-delimited export whose first rows write decimal points with points: 523.667 is not thousands', async () => {
    const result = await ingest(
      'IB_Calls',
      file(';', IB_COLUMNS, [
        cells(8, 'point-1', { complete: '1.0', handle: '2.0', avgHandle: '900806.5' }),
        cells(9, 'point-2', { complete: '1.0', handle: '3.0', avgHandle: '523.667' }),
      ]),
    );
    expect(result.counts).toMatchObject({ read: 2, inserted: 2, rejected: 0 });
    expect(result.stored.get('point-2')).toEqual({ complete: true, handle: 3, avgHandle: 523.667 });
  });

  it('keeps the decimal point in a ,-delimited export: a quoted "9,0" is not a number', async () => {
    const result = await ingest(
      'IB_Calls',
      file(',', IB_COLUMNS, [
        cells(8, 'comma-file-1', { complete: '1.0', handle: '9,0', avgHandle: '1.234' }),
        cells(9, 'comma-file-2', { complete: '1.0', handle: '2.0', avgHandle: '1.234' }),
      ]),
    );
    expect(await rejectsOf(result)).toEqual([{ line: 2, reason: 'Handle: not a number: 9,0' }]);
    expect(Object.fromEntries(result.stored)).toEqual({
      'comma-file-2': { complete: true, handle: 2, avgHandle: 1.234 },
    });
  });

  it("reads Excel's Unicode text (UTF-16LE, tab-separated) with decimal commas", async () => {
    const tsv = file('\t', IB_COLUMNS, [
      cells(8, 'utf16-1', { complete: '1,0', handle: '9,0', avgHandle: '1.234,5' }),
      cells(9, 'utf16-2', { complete: '1,0', handle: '1', avgHandle: '900806,5' }),
    ]);
    const result = await ingest('IB_Calls', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(tsv, 'utf16le')]));
    expect(result.counts).toMatchObject({ read: 2, inserted: 2, rejected: 0 });
    expect(Object.fromEntries(result.stored)).toEqual({
      'utf16-1': { complete: true, handle: 9, avgHandle: 1234.5 },
      'utf16-2': { complete: true, handle: 1, avgHandle: 900806.5 },
    });
  });
});

describe('a decimal mark set for the export', () => {
  const header = IB_COLUMNS.slice(0, -1);

  it('"," reads a decimal comma whatever the delimiter, and 1.234 as a thousand two hundred and thirty-four', async () => {
    const result = await ingest(
      'ACQ',
      file(';', header, [
        cells(8, 'set-comma-1', { complete: '1,0', handle: '1.234' }),
        cells(9, 'set-comma-2', { complete: '1,0', handle: '7,0' }),
        cells(10, 'set-comma-3', { complete: '1,0', handle: '7.5' }),
      ]),
    );
    expect(await rejectsOf(result)).toEqual([{ line: 4, reason: 'Handle: not a number with a decimal comma: 7.5' }]);
    expect(Object.fromEntries(result.stored)).toEqual({
      'set-comma-1': { complete: true, handle: 1234, avgHandle: undefined },
      'set-comma-2': { complete: true, handle: 7, avgHandle: undefined },
    });

    const quoted = await ingest(
      'ACQ',
      file(',', header, [cells(8, 'set-comma-4', { complete: '1,0', handle: '9,0' })]),
    );
    expect(quoted.stored.get('set-comma-4')).toEqual({ complete: true, handle: 9, avgHandle: undefined });
  });

  it('"." reads a decimal point in a ;-delimited export, and a comma is no number', async () => {
    const result = await ingest(
      'RESC',
      file(';', header, [
        cells(8, 'set-point-1', { complete: '1.0', handle: '3.0' }),
        cells(9, 'set-point-2', { complete: '1.0', handle: '9,0' }),
      ]),
    );
    expect(await rejectsOf(result)).toEqual([{ line: 3, reason: 'Handle: not a number: 9,0' }]);
    expect(Object.fromEntries(result.stored)).toEqual({
      'set-point-1': { complete: true, handle: 3, avgHandle: undefined },
    });
  });
});
