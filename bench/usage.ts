import { ListObjectsCommand } from '@aws-sdk/client-s3';
import { type Clients, createS3Client } from '../functions/common/clients.ts';
import type { RowCounts } from '../functions/common/contracts.ts';
import type { EmfRecord, ExecutionEvent } from '../local/pipeline.ts';
import type { LocalStack } from '../local/stack.ts';

/**
 * What AWS would bill for, counted on the local stack as the pipeline runs: SDK middleware on
 * the S3, DynamoDB and SESv2 clients the stack builds; the execution's event log for state
 * transitions, Lambda invocations and their time; the stages' log output and the metrics
 * they flush (CloudWatch embedded metric format) for log bytes and custom metrics.
 */
export interface Usage {
  executions: number;
  /** Every state entered, Map iterations' states included: what Standard workflows bill. */
  transitions: number;
  /** Step Functions' execution log (level ALL, no execution data): its records and their bytes. */
  workflowLogRecords: number;
  workflowLogBytes: number;
  /** Per Lambda stage (collect, ingest, workbook, deliver): invocations, process CPU time and wall time. */
  lambda: Record<string, { invocations: number; cpuMs: number; wallMs: number }>;
  dynamodb: {
    readUnits: number;
    writeUnits: number;
    /** Items asked for by GetItem and BatchGetItem (the keys, not the units). */
    itemReads: number;
    /** The same, during the ingest Map only. */
    ingestReadUnits: number;
    ingestItemReads: number;
    /** Bytes of the items written (an item's attribute names and values). */
    itemBytesWritten: number;
    itemsWritten: number;
    requests: Record<string, number>;
  };
  s3: { tier1: number; tier2: number; requests: Record<string, number> };
  ses: { messages: number; bytes: number };
  /** The stages' own log lines (JSON, EMF included), bytes and records. */
  logBytes: number;
  logRecords: number;
  /** Distinct custom metrics (namespace, name, dimensions and their values). */
  metrics: Set<string>;
  /** The executions' ingest counts, summed. */
  rows: RowCounts;
}

export function emptyUsage(): Usage {
  return {
    executions: 0,
    transitions: 0,
    workflowLogRecords: 0,
    workflowLogBytes: 0,
    lambda: {},
    dynamodb: {
      readUnits: 0,
      writeUnits: 0,
      itemReads: 0,
      ingestReadUnits: 0,
      ingestItemReads: 0,
      itemBytesWritten: 0,
      itemsWritten: 0,
      requests: {},
    },
    s3: { tier1: 0, tier2: 0, requests: {} },
    ses: { messages: 0, bytes: 0 },
    logBytes: 0,
    logRecords: 0,
    metrics: new Set(),
    rows: { read: 0, inserted: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 0 },
  };
}

/** The Task states of the definition and the Lambda stage each invokes. */
const taskStages: Record<string, string> = {
  Collect: 'collect',
  Ingest: 'ingest',
  Remove: 'ingest',
  Build: 'workbook',
  Deliver: 'deliver',
};

/** The top-level states whose time is the time of their Lambda invocations (a Map: of all its iterations). */
const timedStates: Record<string, string> = {
  Collect: 'collect',
  RemoveUndone: 'ingest',
  IngestFiles: 'ingest',
  Build: 'workbook',
  Deliver: 'deliver',
};

const readCommands = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand']);
const freeS3Commands = new Set(['DeleteObjectCommand', 'DeleteObjectsCommand']);
const tier1S3 = /^(Put|Copy|CreateMultipartUpload|UploadPart|CompleteMultipartUpload|List)/;

/**
 * Counts what the pipeline asks of AWS into `usage` (swap `meter.usage` to count a run apart).
 * `attach` adds the middleware to a stack's clients; `onEvent` takes the execution's events;
 * `captureLogs` swallows the stages' log output while a run goes, counting it; `takeMetrics`
 * counts what an execution's stages flushed.
 */
export class UsageMeter {
  usage = emptyUsage();
  /** The top-level state running: reads during the ingest Map are ingest's. */
  private state: string | undefined;
  private stateStarted: { cpu: NodeJS.CpuUsage; at: number } | undefined;

  attach(stack: LocalStack): void {
    this.attachDynamoDb(stack.clients);
    this.attachS3(stack.clients);
    this.attachSes(stack.clients);
  }

  private attachDynamoDb(clients: Clients): void {
    clients.dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const input = args.input as Record<string, unknown>;
        input.ReturnConsumedCapacity ??= 'TOTAL';
        const dynamodb = this.usage.dynamodb;
        dynamodb.requests[command] = (dynamodb.requests[command] ?? 0) + 1;
        const isRead = readCommands.has(command);
        const keys = requestedKeys(command, input);
        dynamodb.itemReads += keys;
        if (this.state === 'IngestFiles') dynamodb.ingestItemReads += keys;
        for (const item of writtenItems(command, input)) {
          dynamodb.itemsWritten++;
          dynamodb.itemBytesWritten += dynamoItemBytes(item);
        }
        try {
          const result = await next(args);
          const units = consumedUnits((result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity);
          if (isRead) {
            dynamodb.readUnits += units;
            if (this.state === 'IngestFiles') dynamodb.ingestReadUnits += units;
          } else dynamodb.writeUnits += units;
          return result;
        } catch (error) {
          // A conditional write refused still costs a write unit.
          if (!isRead) dynamodb.writeUnits += 1;
          throw error;
        }
      },
      { step: 'initialize', name: 'usageMeterDynamoDb' },
    );
  }

  private attachS3(clients: Clients): void {
    clients.s3.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const s3 = this.usage.s3;
        s3.requests[command] = (s3.requests[command] ?? 0) + 1;
        if (tier1S3.test(command)) s3.tier1++;
        else if (!freeS3Commands.has(command)) s3.tier2++;
        return next(args);
      },
      { step: 'initialize', name: 'usageMeterS3' },
    );
  }

  private attachSes(clients: Clients): void {
    clients.sesv2.middlewareStack.add(
      (next) => async (args) => {
        const raw = (args.input as { Content?: { Raw?: { Data?: Uint8Array } } }).Content?.Raw?.Data;
        const result = await next(args);
        this.usage.ses.messages++;
        this.usage.ses.bytes += raw?.byteLength ?? 0;
        return result;
      },
      { step: 'initialize', name: 'usageMeterSes' },
    );
  }

  /** Takes one event of the execution's log. */
  onEvent(event: ExecutionEvent): void {
    const usage = this.usage;
    const record = workflowLogRecord(event);
    if (record) {
      usage.workflowLogRecords += record.count;
      usage.workflowLogBytes += record.bytes * record.count;
    }
    if (event.type === 'StateEntered') {
      usage.transitions++;
      const stage = taskStages[event.state.name];
      if (stage) lambdaOf(usage, stage).invocations++;
      if (event.index === undefined) {
        this.state = event.state.name;
        this.stateStarted = { cpu: process.cpuUsage(), at: event.timestamp };
      }
    }
    if ((event.type === 'StateExited' || event.type === 'StateFailed') && event.index === undefined) {
      const stage = timedStates[event.state.name];
      if (stage && this.stateStarted) {
        const cpu = process.cpuUsage(this.stateStarted.cpu);
        const lambda = lambdaOf(usage, stage);
        lambda.cpuMs += (cpu.user + cpu.system) / 1000;
        lambda.wallMs += event.timestamp - this.stateStarted.at;
      }
      this.state = undefined;
      this.stateStarted = undefined;
    }
  }

  /** Runs `work` with the process's standard output counted as the stages' logs, and not shown. */
  async captureLogs<T>(work: () => Promise<T>): Promise<T> {
    const write = process.stdout.write.bind(process.stdout);
    let pending = '';
    process.stdout.write = ((chunk: string | Uint8Array) => {
      pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.logLine(line);
      return true;
    }) as typeof process.stdout.write;
    try {
      return await work();
    } finally {
      process.stdout.write = write;
      if (pending) this.logLine(pending);
    }
  }

  private logLine(line: string): void {
    if (!line.trim()) return;
    this.usage.logBytes += Buffer.byteLength(line, 'utf8') + 1;
    this.usage.logRecords++;
  }

  /** Takes the metrics an execution's stages flushed: lines of their logs in Lambda, and the custom metrics they define. */
  takeMetrics(records: EmfRecord[]): void {
    for (const record of records) {
      this.logLine(JSON.stringify(record));
      for (const metric of metricsOf(record)) this.usage.metrics.add(metric);
    }
  }
}

function lambdaOf(usage: Usage, stage: string) {
  usage.lambda[stage] ??= { invocations: 0, cpuMs: 0, wallMs: 0 };
  return usage.lambda[stage];
}

function requestedKeys(command: string, input: Record<string, unknown>): number {
  if (command === 'GetItemCommand') return 1;
  if (command !== 'BatchGetItemCommand') return 0;
  const items = (input.RequestItems ?? {}) as Record<string, { Keys?: unknown[] }>;
  return Object.values(items).reduce((sum, table) => sum + (table.Keys?.length ?? 0), 0);
}

function writtenItems(command: string, input: Record<string, unknown>): Record<string, unknown>[] {
  if (command === 'PutItemCommand') return [input.Item as Record<string, unknown>];
  if (command !== 'BatchWriteItemCommand') return [];
  const requests = (input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: Record<string, unknown> } }[]>;
  return Object.values(requests).flatMap((list) => list.flatMap((r) => (r.PutRequest ? [r.PutRequest.Item] : [])));
}

function consumedUnits(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum: number, c: { CapacityUnits?: number }) => sum + (c.CapacityUnits ?? 0), 0);
}

/** An item's size as DynamoDB counts it: attribute names and values (numbers about one byte per two digits). */
export function dynamoItemBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'bigint') return Math.ceil(String(value).length / 2) + 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + dynamoItemBytes(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + dynamoItemBytes(v), 0);
  return (
    3 +
    Object.entries(value as Record<string, unknown>).reduce(
      (sum, [name, v]) => sum + Buffer.byteLength(name, 'utf8') + 1 + dynamoItemBytes(v),
      0,
    )
  );
}

/** The custom metrics of an embedded metric format record: namespace, name, and each dimension with its value. */
function metricsOf(record: EmfRecord): string[] {
  return record._aws.CloudWatchMetrics.flatMap((directive) =>
    directive.Dimensions.flatMap((dimensions) =>
      directive.Metrics.map((metric) =>
        [directive.Namespace, metric.Name, ...dimensions.map((d) => `${d}=${String(record[d])}`)].join('|'),
      ),
    ),
  );
}

/**
 * The records Step Functions writes to the execution's log group for an event (level ALL,
 * without execution data), and the size of one: a Task state is entered, scheduled, started,
 * succeeds and is exited; a Map adds its start and end and each iteration's start and end.
 */
function workflowLogRecord(event: ExecutionEvent): { count: number; bytes: number } | undefined {
  const records: Partial<Record<string, number>> = {
    StateEntered: taskStages[(event as { state?: { name: string } }).state?.name ?? ''] ? 3 : 1,
    StateExited: taskStages[(event as { state?: { name: string } }).state?.name ?? ''] ? 2 : 1,
    MapIterationStarted: 1,
    MapIterationSucceeded: 1,
    ExecutionStarted: 1,
    ExecutionSucceeded: 1,
    ExecutionFailed: 1,
    StateRetried: 2,
    StateFailed: 1,
  };
  const count = records[event.type];
  if (!count) return undefined;
  const name = (event as { state?: { name: string } }).state?.name ?? 'IngestFiles';
  const example = {
    id: '1234',
    type: `Task${event.type}`,
    details: { name, resourceType: 'lambda', resource: 'invoke' },
    previous_event_id: '1233',
    event_timestamp: '1773043200000',
    execution_arn:
      'arn:aws:states:us-east-1:123456789012:execution:CharlieWorkflowStateMachine0A1B2C3D-AbCdEfGhIjKl:2026-03-09-1a2b3c4d',
    redrive_count: '0',
  };
  return { count, bytes: Buffer.byteLength(JSON.stringify(example), 'utf8') };
}

/** The bytes stored in a bucket, by the first part of their keys. */
export async function storedBytes(stack: LocalStack, bucket: string): Promise<Record<string, number>> {
  // A client of its own: listing what is stored is not the pipeline's request. ListObjects (v1):
  // s3rver fails a v2 listing that has more than one page.
  const s3 = createS3Client(stack.endpoints);
  const bytes: Record<string, number> = {};
  let marker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectsCommand({ Bucket: bucket, ...(marker ? { Marker: marker } : {}) }));
    for (const object of page.Contents ?? []) {
      const prefix = `${(object.Key ?? '').split('/')[0]}/`;
      bytes[prefix] = (bytes[prefix] ?? 0) + (object.Size ?? 0);
    }
    marker = page.Contents?.at(-1)?.Key;
    if (!page.IsTruncated || !marker) break;
  }
  s3.destroy();
  return bytes;
}
