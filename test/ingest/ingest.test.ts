import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { Run, SourceFile } from '../../functions/common/contracts.ts';
import { rowPartition } from '../../functions/common/keys.ts';
import type { StoredRow } from '../../functions/common/rows.ts';
import { ingestFile } from '../../functions/ingest/ingest.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { AGENT_1, AGENT_2, createRowTable, IB_HEADER, ibLine, putSource, tableRows } from './files.ts';

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

let tables = 0;
/** A fresh table, and an ingest into it. */
async function freshTable(name: string) {
  const table = await createRowTable(stack, `${name}-${++tables}`);
  const into = (file: SourceFile, now = new Date()) =>
    ingestFile(
      { run, file },
      {
        config,
        s3: stack.clients.s3,
        dynamodb: stack.clients.dynamodb,
        resources: { ...stack.resources, table },
        now: () => now,
        // Few requests in flight, so that concurrent ingests interleave row by row.
        store: { requestsInFlight: 4 },
      },
    );
  return { table, ingest: into, rows: () => tableRows(stack, table) };
}

/** An IB_Calls export of `agents` agents in one hour, each row's Handle set by `handle`. */
function ibExport(agents: number, handle: (agent: number) => number, complete = 0): string {
  const lines = [IB_HEADER];
  for (let a = 0; a < agents; a++) {
    lines.push(ibLine(9, `agent-${String(a).padStart(4, '0')}`, `Agent ${a}`, handle(a), 1000, complete));
  }
  return `${lines.join('\r\n')}\r\n`;
}

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

  it('counts a row repeated within one Campaign_Interactions export once', async () => {
    const header = 'Full Export Completed,Partial Result Timestamp,Filters,Users,Date,Initial Direction,First Queue';
    const row = 'YES,,"Queue: A; Queue: B",,2026-03-09 09:03:00,Inbound,Mid Year Health Check';
    const csv = [header, row, row, row.replace('09:03', '10:51'), ',,,,,,'].join('\n');
    const result = await ingest(await putSource(stack, 'Campaign_Interactions', csv, '2026-03-09T15:00:00Z'));
    expect(result.counts).toEqual({ read: 3, inserted: 2, updated: 0, unchanged: 1, stale: 0, rejected: 0, blank: 1 });
  });
});

describe('Campaign_Interactions versions', () => {
  const header = 'Full Export Completed,Partial Result Timestamp,Filters,Users,Date,Initial Direction,First Queue';
  const interactions = [
    'Queue: A,Ana,2026-03-09 09:03:00,Inbound,Mid Year Health Check',
    'Queue: A,Ben,2026-03-09 09:04:00,Outbound,Mid Year Health Check',
    'Queue: B,,2026-03-09 10:51:00,Inbound,Renewals',
  ];
  const partial = [header, ...interactions.map((i) => `NO,2026-03-09 11:00:00,${i}`)].join('\r\n');
  const complete = [header, ...interactions.map((i) => `YES,,${i}`)].join('\r\n');

  it('counts an export re-sent complete (NO → YES) as updating each interaction, one row per interaction', async () => {
    const { ingest: into, rows } = await freshTable('campaign');
    const first = await into(await putSource(stack, 'Campaign_Interactions', partial, '2026-03-09T16:00:00Z'));
    expect(first.counts).toMatchObject({ read: 3, inserted: 3 });
    const again = await into(await putSource(stack, 'Campaign_Interactions', complete, '2026-03-09T17:00:00Z'));
    expect(again.counts).toEqual({ read: 3, inserted: 0, updated: 3, unchanged: 0, stale: 0, rejected: 0, blank: 0 });
    const stored = await rows();
    expect(stored).toHaveLength(3);
    expect(
      stored.map((r) => [r.values['Full Export Completed'], r.values['Partial Result Timestamp'], r.complete]),
    ).toEqual(stored.map(() => ['YES', null, true]));
  });

  it('keeps the complete export over a partial one exported after it', async () => {
    const { ingest: into, rows } = await freshTable('campaign-late-partial');
    await into(await putSource(stack, 'Campaign_Interactions', complete, '2026-03-09T17:00:00Z'));
    const late = await into(await putSource(stack, 'Campaign_Interactions', partial, '2026-03-09T18:00:00Z'));
    expect(late.counts).toMatchObject({ read: 3, inserted: 0, updated: 0, stale: 3 });
    expect((await rows()).map((r) => r.complete)).toEqual([true, true, true]);
  });
});

describe('versions of a row', () => {
  it('keeps the lineage of every row, and a file ingested again changes nothing', async () => {
    const { table, ingest: into, rows } = await freshTable('again');
    const file = await putSource(
      stack,
      'IB_Calls',
      ibExport(30, (a) => a),
      '2026-03-09T15:00:00Z',
      'IB_Calls (1).csv',
    );
    expect((await into(file, new Date('2026-03-09T15:05:00Z'))).counts).toMatchObject({ read: 30, inserted: 30 });
    const stored = await rows();
    expect(stored[0]?.source).toEqual({
      key: file.key,
      messageId: file.messageId,
      receivedAt: file.receivedAt,
      exportedAt: file.exportedAt,
      attachmentName: 'IB_Calls (1).csv',
    });
    // DynamoDB's TTL deletes a row storage.keepDays (400) after its business date.
    expect(stored.map((row) => row.expiresAt)).toEqual(stored.map(() => Date.parse('2027-04-13T00:00:00Z') / 1000));
    expect(stored[0]?.date).toBe('2026-03-09');
    const scan = async () => (await stack.clients.dynamodb.send(new ScanCommand({ TableName: table }))).Items;
    const items = await scan();
    expect((await into(file, new Date('2026-03-09T16:00:00Z'))).counts).toEqual({
      read: 30,
      inserted: 0,
      updated: 0,
      unchanged: 30,
      stale: 0,
      rejected: 0,
      blank: 0,
    });
    // Not even the time of ingest moved: nothing was written.
    expect(await scan()).toEqual(items);
  });

  it('keeps a complete interval over a partial one, whichever was exported later', async () => {
    const { ingest: into, rows } = await freshTable('complete');
    const complete = await putSource(
      stack,
      'IB_Calls',
      ibExport(3, () => 5, 1),
      '2026-03-09T10:05:00Z',
    );
    const partialLater = await putSource(
      stack,
      'IB_Calls',
      ibExport(3, () => 9, 0),
      '2026-03-09T11:00:00Z',
    );
    await into(complete);
    expect((await into(partialLater)).counts).toMatchObject({ read: 3, stale: 3 });
    expect((await rows()).map((r) => [r.values.Handle, r.complete])).toEqual([
      [5, true],
      [5, true],
      [5, true],
    ]);
  });

  it('ends with the same table whatever the order of ingest (A, B, then A again, newer)', async () => {
    // X and Z hold the same values, Y different ones; Z is the newest export.
    const x = await putSource(
      stack,
      'IB_Calls',
      ibExport(20, () => 1),
      '2026-03-09T10:00:00Z',
      'x.csv',
    );
    const y = await putSource(
      stack,
      'IB_Calls',
      ibExport(20, (a) => 2 + a),
      '2026-03-09T11:00:00Z',
      'y.csv',
    );
    const z = await putSource(stack, 'IB_Calls', `${ibExport(20, () => 1)}\r\n`, '2026-03-09T12:00:00Z', 'z.csv');
    const orders = [
      [x, y, z],
      [x, z, y],
      [y, x, z],
      [y, z, x],
      [z, x, y],
      [z, y, x],
    ];
    const finals = [];
    for (const order of orders) {
      const { ingest: into, rows } = await freshTable('order');
      for (const file of order) await into(file);
      finals.push(await rows());
    }
    for (const final of finals) expect(final).toEqual(finals[0]);
    expect(finals[0]?.every((r) => r.values.Handle === 1 && r.source.attachmentName === 'z.csv')).toBe(true);
  });

  for (const first of ['older', 'newer'] as const) {
    it(`ends with the newer version when two files of one type are ingested at once (${first} started first)`, async () => {
      const agents = 200;
      const older = await putSource(
        stack,
        'IB_Calls',
        ibExport(agents, (a) => a),
        '2026-03-09T10:00:00Z',
        'older.csv',
      );
      const newer = await putSource(
        stack,
        'IB_Calls',
        ibExport(agents, (a) => a + 1000),
        '2026-03-09T11:00:00Z',
        'newer.csv',
      );
      const { ingest: into, rows } = await freshTable('race');
      const [o, n] =
        first === 'older'
          ? await Promise.all([into(older), into(newer)])
          : await Promise.all([into(newer), into(older)]).then(([n2, o2]) => [o2, n2] as const);
      const stored = await rows();
      expect(stored).toHaveLength(agents);
      expect(stored.every((r) => r.source.attachmentName === 'newer.csv' && (r.values.Handle as number) >= 1000)).toBe(
        true,
      );
      // Every identity: the newer version was either first (inserted, the older then stale)
      // or replaced the older (updated).
      expect(n.counts.inserted + n.counts.updated).toBe(agents);
      expect(o.counts.inserted + o.counts.stale).toBe(agents);
      expect(n.counts.updated).toBe(o.counts.inserted);
    });
  }
});
