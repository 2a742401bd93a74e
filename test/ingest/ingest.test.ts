import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingestFile } from '../../functions/ingest/ingest.ts';
import { loadConfigFile } from '../../functions/shared/config.ts';
import type { Run, SourceFile } from '../../functions/shared/contracts.ts';
import { rowPartition } from '../../functions/shared/keys.ts';
import type { StoredRow } from '../../functions/shared/rows.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { AGENT_1, AGENT_2, IB_HEADER, ibLine, putSource } from './files.ts';

const config = loadConfigFile();
const run: Run = {
  date: '2026-03-09',
  reports: config.exports.map((e) => e.type),
  force: false,
  deliver: true,
  executionId: 'test',
  window: { start: '2026-03-09T05:00:00.000Z', end: '2026-03-10T07:00:00.000Z' },
};

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack(mkdtempSync(join(tmpdir(), 'charlie-ingest-')));
});
afterAll(async () => stack.stop());

const ingest = (file: SourceFile) =>
  ingestFile(
    { run, file },
    { config, s3: stack.clients.s3, dynamodb: stack.clients.dynamodb, resources: stack.resources },
  );

async function storedRows(type: string, date = '2026-03-09'): Promise<StoredRow[]> {
  const rows: StoredRow[] = [];
  for (let shard = 0; shard < config.storage.shards; shard++) {
    const page = await stack.clients.dynamodb.send(
      new QueryCommand({
        TableName: stack.resources.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': rowPartition(date, type, shard) },
      }),
    );
    rows.push(...((page.Items ?? []) as StoredRow[]));
  }
  return rows;
}

async function text(key: string): Promise<string> {
  const object = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.dataBucket, Key: key }));
  return object.Body?.transformToString() ?? '';
}

describe('ingestFile', () => {
  // Each test uses its own export type or hours so that rows of one never meet another's.
  let hour = 0;
  beforeEach(() => {
    hour += 2;
  });

  it('stores typed rows, skips padding and reports every row', async () => {
    const csv = [
      IB_HEADER,
      ibLine(hour, AGENT_1, 'José Peña', 4, 900806.5),
      ibLine(hour, AGENT_2, 'Zoë Müller', 2, 120000),
      ',,,,,,,,',
      ',,,,,,,,',
      '',
    ].join('\r\n');
    const result = await ingest(await putSource(stack, 'IB_Calls', csv, '2026-03-09T15:00:00Z'));
    expect(result.counts).toEqual({ read: 2, inserted: 2, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 2 });
    const rows = (await storedRows('IB_Calls')).filter((r) => r.values['Agent Name'] === 'José Peña');
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row?.values).toMatchObject({
      'Interval Start': `2026-03-09T${String(hour).padStart(2, '0')}:00:00-05:00`,
      'Interval Complete': true,
      Handle: 4,
      'Avg Handle': 900806.5,
      'Agent Id': AGENT_1,
    });
    expect(row?.complete).toBe(true);
    expect(row?.source).toMatchObject({ exportedAt: '2026-03-09T15:00:00Z', attachmentName: 'IB_Calls.csv' });
  });

  it('counts a re-ingested file as unchanged, a newer export as updated and an older one as stale', async () => {
    const first = [IB_HEADER, ibLine(hour, AGENT_1, 'A', 1, 1000, 0), ibLine(hour, AGENT_2, 'B', 1, 1000, 0)].join(
      '\n',
    );
    const file = await putSource(stack, 'IB_Calls', first, '2026-03-09T16:00:00Z');
    expect((await ingest(file)).counts.inserted).toBe(2);
    expect((await ingest(file)).counts).toMatchObject({ read: 2, unchanged: 2, inserted: 0 });

    const newer = [IB_HEADER, ibLine(hour, AGENT_1, 'A', 3, 1500, 0), ibLine(hour, AGENT_2, 'B', 1, 1000, 0)].join(
      '\n',
    );
    const older = [IB_HEADER, ibLine(hour, AGENT_1, 'A', 2, 1200, 0), ibLine(hour, AGENT_2, 'B', 1, 1000, 0)].join(
      '\n',
    );
    // The newer export arrives first; the older one, arriving late, must not overwrite it.
    expect((await ingest(await putSource(stack, 'IB_Calls', newer, '2026-03-09T18:00:00Z'))).counts).toMatchObject({
      updated: 1,
      unchanged: 1,
    });
    expect((await ingest(await putSource(stack, 'IB_Calls', older, '2026-03-09T17:00:00Z'))).counts).toMatchObject({
      stale: 1,
      unchanged: 1,
    });
    const a = (await storedRows('IB_Calls')).find(
      (r) =>
        r.values['Agent Name'] === 'A' &&
        r.values['Interval Start'] === `2026-03-09T${String(hour).padStart(2, '0')}:00:00-05:00`,
    );
    expect(a?.values.Handle).toBe(3);
  });

  it('rejects malformed rows with line and reason and keeps the rest', async () => {
    const csv = [
      IB_HEADER,
      ibLine(hour, AGENT_1, 'Good', 1, 10),
      ibLine(hour, AGENT_2, 'Bad number', 1, 10).replace(',1.0,10', ',many,10'),
      '2026-03-09 99:00:00,2026-03-09 10:00:00,1.0,Q,voice,x,Bad time,1.0,1',
      'too,few,fields',
      '"quoted, with comma",2026-03-09 10:00:00,1.0,Q,voice,x,Wrong,1.0,1',
    ].join('\n');
    const file = await putSource(stack, 'IB_Calls', csv, '2026-03-09T15:00:00Z');
    const result = await ingest(file);
    expect(result.counts).toMatchObject({ read: 5, inserted: 1, rejected: 4 });
    expect(result.rejectsKey).toBeDefined();
    const rejects = await text(result.rejectsKey as string);
    const lines = rejects.trim().split('\r\n');
    expect(lines[0]).toBe(`line,reason,${IB_HEADER}`);
    expect(lines[1]).toMatch(/^3,Handle: not a number: many,/);
    expect(lines[2]).toMatch(/^4,Interval Start: not a date and time/);
    expect(lines[3]).toMatch(/^5,"expected 9 fields, found 3",too,few,fields$/);
    expect(lines[4]).toMatch(
      /^6,"Interval Start: not a date and time: quoted, with comma","quoted, with comma",2026-03-09 10:00:00,/,
    );
  });

  it('rejects a file missing a required column whole and stores nothing from it', async () => {
    const csv = [
      'Interval Start,Interval End,Agent Id,Agent Name',
      '2026-03-09 01:00:00,2026-03-09 02:00:00,x,Nobody',
    ].join('\n');
    const file = await putSource(stack, 'QCBS', csv, '2026-03-09T15:00:00Z');
    const result = await ingest(file);
    expect(result.fileRejected).toMatch(/Interval Complete, Filters, Media Type, Handle/);
    expect(result.counts).toMatchObject({ read: 1, rejected: 1, inserted: 0 });
    expect(await storedRows('QCBS')).toHaveLength(0);
    const reason = await text(file.key.replace(/^raw\//, 'rejects/').replace(/\.csv$/, '.reason.txt'));
    expect(reason).toContain('Interval Complete');
  });

  it('reads UTF-16LE with BOM, tab-separated, and Windows-1252', async () => {
    const header = 'Interval Start\tInterval End\tInterval Complete\tFilters\tMedia Type\tAgent Id\tAgent Name\tHandle';
    const tsv = `${header}\r\n2026-03-09 01:00:00\t2026-03-09 02:00:00\t1.0\tQueue: RESC\tvoice\t${AGENT_1}\tZoë Müller\t5.0\r\n`;
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(tsv, 'utf16le')]);
    expect((await ingest(await putSource(stack, 'RESC', utf16, '2026-03-09T15:00:00Z'))).counts.inserted).toBe(1);

    const semicolon = `${header.replaceAll('\t', ';')}\n2026-03-09 02:00:00;2026-03-09 03:00:00;1.0;Queue: RESC;voice;${AGENT_2};José Peña;3.0\n`;
    const cp1252 = Buffer.from(semicolon, 'latin1');
    expect((await ingest(await putSource(stack, 'RESC', cp1252, '2026-03-09T15:00:00Z'))).counts.inserted).toBe(1);

    const names = (await storedRows('RESC')).map((r) => r.values['Agent Name']).sort();
    expect(names).toEqual(['José Peña', 'Zoë Müller']);
  });

  it('uses the whole row as identity for Campaign_Interactions', async () => {
    const header = 'Full Export Completed,Partial Result Timestamp,Filters,Users,Date,Initial Direction,First Queue';
    const row = 'YES,,"Queue: A; Queue: B",,2026-03-09 09:03:00,Inbound,Mid Year Health Check';
    const csv = [header, row, row, row.replace('09:03', '10:51'), ',,,,,,'].join('\n');
    const result = await ingest(await putSource(stack, 'Campaign_Interactions', csv, '2026-03-09T15:00:00Z'));
    expect(result.counts).toEqual({ read: 3, inserted: 2, updated: 0, unchanged: 1, stale: 0, rejected: 0, blank: 1 });
  });
});
