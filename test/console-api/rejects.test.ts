import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestResult } from '../../functions/common/contracts.ts';
import { rejectsKey } from '../../functions/common/keys.ts';
import { writeRunResult } from '../../functions/common/run-records.ts';
import { maxRejectsCsvBytes, rejectsCsv } from '../../functions/console-api/rejects.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { config, now } from './harness.ts';

const date = '2026-03-09';
const executionId = 'arn:aws:states:us-east-1:000000000000:execution:charlie-local:rejects-test';
const rawKey = `raw/${date}/Dials/${'b'.repeat(64)}.csv`;
let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charlie-rejects-'));
  stack = await startLocalStack(dir);
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function storeRejects(rows: string[]): Promise<void> {
  const { s3 } = stack.clients;
  const bucket = stack.resources.dataBucket;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: rejectsKey(rawKey),
      Body: `line,reason,Agent,Handle\r\n${rows.join('')}`,
    }),
  );
  const result: IngestResult = {
    key: rawKey,
    type: 'Dials',
    counts: { read: rows.length, inserted: 0, updated: 0, unchanged: 0, stale: 0, rejected: rows.length, blank: 0 },
    rejectsKey: rejectsKey(rawKey),
  };
  await writeRunResult(s3, bucket, { date, executionId }, 'ingested', 0, result);
}

const deps = () => ({
  config,
  s3: stack.clients.s3,
  dynamodb: stack.clients.dynamodb,
  resources: stack.resources,
  executions: undefined as never,
  now: () => new Date(now()),
});

describe("the day's rejected rows as CSV", () => {
  it('lists each rejected row with its file, type, line, reason and the row as exported', async () => {
    await storeRejects(['7,Handle: not a number: abc,Ann,abc\r\n', '9,"Agent: empty",,12\r\n']);
    const { csv, rows, left } = await rejectsCsv(deps(), date, executionId);
    expect(csv.split('\r\n')).toEqual([
      'raw key,type,line,reason,row',
      `${rawKey},Dials,7,Handle: not a number: abc,"Ann,abc"`,
      `${rawKey},Dials,9,Agent: empty,",12"`,
      '',
    ]);
    expect({ rows, left }).toEqual({ rows: 2, left: 0 });
  });

  it('stops short of the Lambda response limit and says how many rows are left and where they all are', async () => {
    const row = (i: number) => `${i},Handle: not a number: ${'x'.repeat(80)},Agent ${i},${'x'.repeat(80)}\r\n`;
    const count = Math.ceil(maxRejectsCsvBytes / 150) + 1_000;
    await storeRejects(Array.from({ length: count }, (_, i) => row(i + 2)));
    const { csv, rows, left } = await rejectsCsv(deps(), date, executionId);
    expect(Buffer.byteLength(csv)).toBeLessThan(maxRejectsCsvBytes + 1_000);
    expect(rows + left).toBe(count);
    expect(left).toBeGreaterThan(0);
    expect(csv.trimEnd().split('\r\n').at(-1)).toContain(`${left} more rejected rows than one download holds`);
  });
});
