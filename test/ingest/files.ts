import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../functions/common/config.ts';
import type { IngestResult, ManifestEntryInput, Run, SourceFile } from '../../functions/common/contracts.ts';
import { rawKey } from '../../functions/common/keys.ts';
import { PARTITION_PREFIX, TABLE_KEY } from '../../functions/common/names.ts';
import type { StoredRow } from '../../functions/common/rows.ts';
import { readRunResults, writeManifest } from '../../functions/common/run-records.ts';
import { type LocalStack, localCredentials, startLocalStack } from '../../local/stack.ts';

export const IB_HEADER =
  'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle,Avg Handle';

export const AGENT_1 = '6c7bba2a-d8ec-4b53-9934-cf52606b282a';
export const AGENT_2 = '24bb913e-5636-4db3-aab7-1213b0928274';

/** An IB_Calls data line for 2026-03-09 at the given hour. */
export function ibLine(hour: number, agentId: string, name: string, handle: number, avgHandle: number, complete = 1) {
  const h = String(hour).padStart(2, '0');
  const next = String(hour + 1).padStart(2, '0');
  return `2026-03-09 ${h}:00:00,2026-03-09 ${next}:00:00,${complete}.0,Initial Direction: Inbound; Queue: LLSA-ACQ-DM,voice,${agentId},${name},${handle}.0,${avgHandle}`;
}

/** Stores bytes as a raw source file of a business day (default 2026-03-09) and describes it as collect would. */
export async function putSource(
  stack: LocalStack,
  type: string,
  body: Uint8Array | string,
  exportedAt: string,
  name = `${type}.csv`,
  date = '2026-03-09',
): Promise<SourceFile> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const key = rawKey(date, type, sha256);
  await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.resources.dataBucket, Key: key, Body: bytes }));
  return {
    bucket: stack.resources.dataBucket,
    key,
    type,
    sha256,
    bytes: bytes.length,
    exportedAt,
    receivedAt: exportedAt,
    messageId: `<${sha256.slice(0, 12)}@example.com>`,
    attachmentName: name,
    origin: 'graph',
  };
}

/** The ingest Lambda handler on a local stack: one file ingested as the state machine asks for it. */
export interface IngestHandlerOnStack {
  stack: LocalStack;
  ingest(run: Run, file: SourceFile): Promise<IngestResult>;
}

let runsOfOneFile = 0;

/**
 * Starts a local stack and imports the ingest Lambda handler (functions/ingest/index.ts)
 * configured by its environment, as in AWS. Each ingest is a run of its own whose manifest
 * lists the one file, and its result is read back from the run's records.
 */
export async function startIngestHandler(name: string, config: Config): Promise<IngestHandlerOnStack> {
  const stack = await startLocalStack(mkdtempSync(join(tmpdir(), `charlie-${name}-`)));
  Object.assign(process.env, {
    CHARLIE_CONFIG: JSON.stringify(config),
    DATA_BUCKET: stack.resources.dataBucket,
    REPORTS_BUCKET: stack.resources.reportsBucket,
    TABLE_NAME: stack.resources.table,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: stack.endpoints.s3,
    AWS_ENDPOINT_URL_DYNAMODB: stack.endpoints.dynamodb,
  });
  const { handler } = await import('../../functions/ingest/index.ts');
  const context = {
    functionName: 'charlie-ingest',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:charlie-ingest',
    memoryLimitInMB: '1024',
    awsRequestId: name,
    getRemainingTimeInMillis: () => 300_000,
  };
  return {
    stack,
    async ingest(run, file) {
      const caseRun = { ...run, executionId: `${run.executionId}-${++runsOfOneFile}` };
      const { s3 } = stack.clients;
      const manifest = await writeManifest(s3, stack.resources.dataBucket, {
        executionId: caseRun.executionId,
        date: run.date,
        files: [file],
        undone: [],
        ignored: [],
      });
      const entry: ManifestEntryInput = { run: caseRun, manifest, index: 0 };
      if ((await handler(entry, context as never)) !== null) {
        throw new Error('the ingest handler returned a payload: its result belongs in the run records');
      }
      const [result] = await readRunResults<IngestResult>(s3, manifest.bucket, caseRun, 'ingested');
      if (!result) throw new Error(`no result stored for ${file.key}`);
      return result;
    },
  };
}

/** A fresh, empty row table in the local DynamoDB, named after the test. */
export async function createRowTable(stack: LocalStack, name: string): Promise<string> {
  await stack.clients.dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: TABLE_KEY.partition, AttributeType: 'S' },
        { AttributeName: TABLE_KEY.sort, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: TABLE_KEY.partition, KeyType: 'HASH' },
        { AttributeName: TABLE_KEY.sort, KeyType: 'RANGE' },
      ],
    }),
  );
  return name;
}

/** Every item of a table in key order, without the time of ingest (the one thing a rerun may differ in). */
export async function tableItems(stack: LocalStack, table: string): Promise<Omit<StoredRow, 'ingestedAt'>[]> {
  const items: StoredRow[] = [];
  for await (const page of paginateScan({ client: stack.clients.dynamodb }, { TableName: table })) {
    items.push(...((page.Items ?? []) as StoredRow[]));
  }
  return items
    .map(({ ingestedAt: _ingestedAt, ...rest }) => rest)
    .sort((a, b) => a.pk.localeCompare(b.pk) || a.sk.localeCompare(b.sk));
}

/** The rows of a table, as tableItems gives them: leases and the generations of row digests left out. */
export async function tableRows(stack: LocalStack, table: string): Promise<Omit<StoredRow, 'ingestedAt'>[]> {
  return (await tableItems(stack, table)).filter((item) => item.pk.startsWith(PARTITION_PREFIX.row));
}
