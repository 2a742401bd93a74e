import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchGetCommand, DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { Run, SourceFile } from '../../functions/common/contracts.ts';
import { ingestFile } from '../../functions/ingest/ingest.ts';
import { removeFileRows } from '../../functions/ingest/remove.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { AGENT_1, AGENT_2, createRowTable, IB_HEADER, ibLine, putSource, tableRows } from './files.ts';

const config = loadConfigFile();
const run: Run = {
  date: '2026-03-09',
  reports: ['IB_Calls'],
  force: false,
  deliver: true,
  executionId: 'test',
  window: { start: '2026-03-09T05:00:00.000Z', end: '2026-03-10T07:00:00.000Z' },
};

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack(mkdtempSync(join(tmpdir(), 'charlie-remove-')));
});
afterAll(async () => stack.stop());

let tables = 0;
async function freshTable() {
  const table = await createRowTable(stack, `remove-${++tables}`);
  const deps = {
    config,
    s3: stack.clients.s3,
    dynamodb: stack.clients.dynamodb,
    resources: { ...stack.resources, table },
    now: () => new Date('2026-03-10T12:00:00Z'),
  };
  return {
    table,
    ingest: (file: SourceFile) => ingestFile({ run, file }, deps),
    remove: (file: SourceFile) => removeFileRows({ run, file, remove: true }, deps),
    rows: () => tableRows(stack, table),
  };
}

const csv = (...lines: string[]) => `${[IB_HEADER, ...lines].join('\r\n')}\r\n`;

describe('taking an undone file out', () => {
  it("deletes the rows whose stored version is the file's; the other files then put the earlier versions back", async () => {
    const earlier = await putSource(
      stack,
      'IB_Calls',
      csv(ibLine(9, AGENT_1, 'José Peña', 4, 1000), ibLine(10, AGENT_1, 'José Peña', 2, 1000)),
      '2026-03-09T15:00:00Z',
    );
    // The bad export: a wrong Handle for 09:00, a row of its own for AGENT_2, a malformed line and padding.
    const bad = await putSource(
      stack,
      'IB_Calls',
      csv(
        ibLine(9, AGENT_1, 'José Peña', 99, 1000),
        ibLine(9, AGENT_2, 'Zoë Müller', 7, 1000),
        '2026-03-09 11:00:00,not a time,1.0,x,voice,a,b,1.0,1',
        ',,,,,,,,',
      ),
      '2026-03-09T16:00:00Z',
    );
    const only = await freshTable();
    await only.ingest(earlier);

    const day = await freshTable();
    await day.ingest(earlier);
    await day.ingest(bad);
    // The earlier file's 10:00 row was never replaced: taking it out is not this file's business.
    expect(await day.remove(bad)).toEqual({ key: bad.key, type: 'IB_Calls', read: 2, removed: 2 });
    expect((await day.rows()).map((row) => row.source.key)).toEqual([earlier.key]);
    expect((await day.ingest(earlier)).counts).toMatchObject({ read: 2, inserted: 1, unchanged: 1 });
    expect(await day.rows()).toEqual(await only.rows());

    // Again: nothing of it is stored any more.
    expect((await day.remove(bad)).removed).toBe(0);
  });

  it('reads a decimal-comma file as ingest read it, past its first rows, and takes every row out', async () => {
    const lines = Array.from({ length: 2_000 }, (_, i) =>
      ibLine(8 + (i % 12), `comma-${i}`, 'José Peña', i, 1000)
        .replaceAll(',', ';')
        .replace(/;(Initial Direction: [^;]*; Queue: [^;]*);/, ';"$1";')
        .replace(/;(\d+)\.0;1000$/, ';$1,0;1.234,5'),
    );
    const header = IB_HEADER.replaceAll(',', ';');
    const file = await putSource(stack, 'IB_Calls', `${[header, ...lines].join('\r\n')}\r\n`, '2026-03-09T15:00:00Z');
    const day = await freshTable();
    expect((await day.ingest(file)).counts).toMatchObject({ read: 2_000, inserted: 2_000, rejected: 0 });
    expect((await day.rows()).map((row) => row.values['Avg Handle'])).toEqual(lines.map(() => 1234.5));
    expect(await day.remove(file)).toEqual({ key: file.key, type: 'IB_Calls', read: 2_000, removed: 2_000 });
    expect(await day.rows()).toEqual([]);
  });

  it('leaves a row that another file replaced between the read and the delete', async () => {
    const file = await putSource(
      stack,
      'IB_Calls',
      csv(ibLine(9, AGENT_1, 'José Peña', 4, 1000)),
      '2026-03-09T15:00:00Z',
    );
    const dynamodb = mockClient(DynamoDBDocumentClient);
    dynamodb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: {},
        UnprocessedKeys: { rows: { Keys: [{ pk: 'x', sk: 'y' }] } },
      })
      .callsFake((input: { RequestItems: Record<string, { Keys: Record<string, string>[] }> }) => ({
        Responses: { rows: input.RequestItems.rows?.Keys.map((key) => ({ ...key, source: { key: file.key } })) },
      }));
    dynamodb
      .on(DeleteCommand)
      .rejects(Object.assign(new Error('replaced'), { name: 'ConditionalCheckFailedException' }));
    const waits: number[] = [];
    const result = await removeFileRows(
      { run, file, remove: true },
      {
        config,
        s3: stack.clients.s3,
        dynamodb: dynamodb as unknown as DynamoDBDocumentClient,
        resources: { ...stack.resources, table: 'rows' },
        store: { backoff: { sleep: async (ms) => void waits.push(ms), random: () => 0.5 } },
      },
    );
    expect(result).toEqual({ key: file.key, type: 'IB_Calls', read: 1, removed: 0 });
    // The unprocessed key was asked again after a backoff, and the delete was conditional on the lineage.
    expect(waits).toHaveLength(1);
    expect(dynamodb.commandCalls(BatchGetCommand)).toHaveLength(2);
    // Deleted under the lease of the row's day and type, as ingest writes.
    expect(dynamodb.commandCalls(PutCommand).map((call) => call.args[0].input.Item?.pk)).toEqual([
      'LEASE#2026-03-09#IB_Calls',
    ]);
    expect(dynamodb.commandCalls(DeleteCommand)[0]?.args[0].input).toMatchObject({
      ConditionExpression: '#source.#key = :key',
      ExpressionAttributeValues: { ':key': file.key },
    });
  });
});
