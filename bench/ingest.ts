import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Clients, createClients, type Endpoints, type Resources } from '../functions/common/clients.ts';
import { loadConfigFile } from '../functions/common/config.ts';
import type { IngestInput, Run, SourceFile } from '../functions/common/contracts.ts';
import { exportSpec } from '../functions/common/exports.ts';
import { rawKey } from '../functions/common/keys.ts';
import { CsvParser } from '../functions/ingest/csv.ts';
import { decodeChunks } from '../functions/ingest/decode.ts';
import { ingestFile, rowBounds, versionMaker } from '../functions/ingest/ingest.ts';
import { layoutHeader, RowReader } from '../functions/ingest/rows.ts';
import { INGEST_HEAP_FLAGS, INGEST_MEMORY_MB } from '../lib/ingest-runtime.ts';
import { peakRssMb } from './report.ts';

/**
 * Ingest throughput and memory. Each measurement runs in a process of its own (this script
 * again, with `--part`), so its peak RSS is its own; the local store runs in yet another
 * process, so the CPU time of our code and of the store can be told apart.
 *
 * 1. parse + validate + identity: a generated 1M-row IB_Calls file read from disk through
 *    decoding, CSV parsing, typing, identity and digest to the item DynamoDB would get.
 * 2. the whole ingestFile path from S3 with a store that answers at once: 1M rows already
 *    stored (reads only) and 100k rows not stored yet (every row written) — the ceiling of
 *    our side, and its memory with every stage (S3 stream, batches, rejects) running.
 * 3. 100k rows end to end into the local DynamoDB (dynalite) and S3 (s3rver): a first ingest,
 *    then the same file again.
 */

const config = loadConfigFile();
const run: Run = {
  date: '2026-03-09',
  reports: ['IB_Calls'],
  force: false,
  deliver: false,
  executionId: 'bench',
  window: { start: '2026-03-09T06:00:00.000Z', end: '2026-03-10T08:00:00.000Z' },
};
const spec = exportSpec(config, 'IB_Calls');
const header = spec.columns.map((c) => c.name);
const names = ['José Peña', 'Zoë Müller', 'Aaliyah Johnson', "Liam O'Brien", 'Diego Hernández', 'Mei Chen'];
const filters = 'Initial Direction: Inbound; Queue: LLSA-IB-DM; Queue: LLSA-IB-Spanish; Media Type: voice';

/**
 * `rows` IB_Calls rows: distinct agents over the day's 24 hourly intervals, 1 in 1000 rows
 * malformed, a few padding rows at the end. `quoted` quotes every field, as some tools do.
 */
async function generate(path: string, rows: number, quoted: boolean): Promise<number> {
  const out = createWriteStream(path);
  const q = (cells: (string | number)[]) =>
    `${cells.map((c) => (quoted ? `"${String(c).replace(/"/g, '""')}"` : String(c))).join(',')}\r\n`;
  let chunk = q(header);
  for (let i = 0; i < rows; i++) {
    const hour = i % 24;
    const agent = Math.floor(i / 24);
    const h = String(hour).padStart(2, '0');
    const next = hour === 23 ? '2026-03-10 00:00:00' : `2026-03-09 ${String(hour + 1).padStart(2, '0')}:00:00`;
    const handle = (agent % 7) + 1;
    const cells = [
      `2026-03-09 ${h}:00:00`,
      next,
      '1.0',
      filters,
      'voice',
      `${String(agent).padStart(8, '0')}-d8ec-4b53-9934-cf52606b282a`,
      names[agent % names.length] as string,
      i % 1000 === 999 ? 'n/a' : `${handle}.0`,
      ((agent * 7919 + hour * 104729) % 900000) + 0.5,
    ];
    chunk += q(cells);
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  chunk += ',,,,,,,,\r\n'.repeat(5);
  out.end(chunk);
  await once(out, 'finish');
  return statSync(path).size;
}

function sourceFile(key: string, bytes: number, sha256: string, exportedAt: string, bucket: string): SourceFile {
  return {
    bucket,
    key,
    type: 'IB_Calls',
    sha256,
    bytes,
    exportedAt,
    receivedAt: exportedAt,
    messageId: `<${sha256.slice(0, 12)}@bench>`,
    attachmentName: 'IB_Calls.csv',
    origin: 'graph',
  };
}

/** Part 1: decode, parse, type, identify and build the items of a file on disk, without a store. */
async function parsePart(path: string, rows: number): Promise<Record<string, number>> {
  const bytes = statSync(path).size;
  const start = performance.now();
  const cpu = process.cpuUsage();
  const parser = new CsvParser();
  let reader: RowReader | undefined;
  let toVersion: ReturnType<typeof versionMaker> | undefined;
  let stored = 0;
  let rejected = 0;
  let blank = 0;
  const take = (records: ReturnType<CsvParser['push']>) => {
    for (const record of records) {
      if (!reader || !toVersion) {
        const layout = layoutHeader(record.cells, spec, config);
        if (!('layout' in layout)) throw new Error(layout.rejected);
        const file = sourceFile(path, bytes, 'f'.repeat(64), '2026-03-09T23:00:00Z', 'bench');
        // The generated files are comma-delimited: their numbers have decimal points.
        reader = new RowReader(layout.layout, config.timeZone, config.storage.shards, rowBounds({ run, file }), '.');
        toVersion = versionMaker({ run, file }, layout.layout, new Date().toISOString(), config.storage.keepDays);
        continue;
      }
      const outcome = reader.read(record.cells);
      if (outcome.kind === 'row') {
        if (toVersion(outcome.row, record.line).sk.length > 0) stored++;
      } else if (outcome.kind === 'rejected') rejected++;
      else blank++;
    }
  };
  for await (const text of decodeChunks(createReadStream(path, { highWaterMark: 1 << 16 }), 'utf-8')) {
    take(parser.push(text));
  }
  take(parser.end());
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  if (stored + rejected !== rows) throw new Error(`counted ${stored} + ${rejected} of ${rows} rows`);
  return { rows, bytes, seconds, cpuSeconds: (used.user + used.system) / 1e6, stored, rejected, blank };
}

/** The local stack in a child process: its endpoints, and its CPU time on request. */
class StackProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly endpoints: Endpoints,
    readonly resources: Resources,
  ) {}

  static async start(): Promise<StackProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/ingest.ts', '--part', 'stack'], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const [message] = (await once(child, 'message')) as [{ endpoints: Endpoints; resources: Resources }];
    return new StackProcess(child, message.endpoints, message.resources);
  }

  async cpuSeconds(): Promise<number> {
    this.child.send('cpu');
    const [usage] = (await once(this.child, 'message')) as [NodeJS.CpuUsage];
    return (usage.user + usage.system) / 1e6;
  }

  async stop(): Promise<void> {
    this.child.send('stop');
    await once(this.child, 'exit');
  }
}

async function serveStack(): Promise<void> {
  // Imported at run time, and only here: the measuring processes (a bundle) do not carry the emulators.
  const stackModule = '../local/stack.ts';
  const { startLocalStack } = (await import(stackModule)) as typeof import('../local/stack.ts');
  const dir = mkdtempSync(join(tmpdir(), 'charlie-bench-stack-'));
  const stack = await startLocalStack(dir);
  process.on('message', async (message) => {
    if (message === 'cpu') process.send?.(process.cpuUsage());
    if (message === 'stop') {
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
  });
  process.send?.({ endpoints: stack.endpoints, resources: stack.resources });
}

/** Counts the DynamoDB requests a client sends, by command. */
function countRequests(clients: Clients): Record<string, number> {
  const requests: Record<string, number> = {};
  clients.dynamodb.middlewareStack.add(
    (next, context) => (args) => {
      const name = context.commandName ?? 'unknown';
      requests[name] = (requests[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  return requests;
}

async function upload(clients: Clients, resources: Resources, path: string, exportedAt: string): Promise<SourceFile> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  const bytes = statSync(path).size;
  const key = rawKey(run.date, 'IB_Calls', sha256);
  await clients.s3.send(
    new PutObjectCommand({
      Bucket: resources.dataBucket,
      Key: key,
      Body: createReadStream(path),
      ContentLength: bytes,
      ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
    }),
  );
  return sourceFile(key, bytes, sha256, exportedAt, resources.dataBucket);
}

/**
 * A DynamoDB client that never leaves the process: the SDK serialises and signs every
 * request as usual, and the request handler answers at once, counting what it was asked.
 * `empty`: nothing is stored, so every row is written. `newer`: every key holds a version
 * ranked above the file's, so ingest only reads. Any other request (BatchWriteItem, the
 * lease's PutItem and DeleteItem) is answered `{}`: all written, lease granted, released.
 */
function instantDynamoDb(store: 'empty' | 'newer', requests: Record<string, number>): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    endpoint: 'http://127.0.0.1:9',
    requestHandler: {
      handle: async (request: { headers: Record<string, string>; body: Uint8Array | string }) => {
        const operation = (request.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
        requests[operation] = (requests[operation] ?? 0) + 1;
        let body = '{}';
        if (operation === 'BatchGetItem') {
          const asked = JSON.parse(new TextDecoder().decode(request.body as Uint8Array)) as {
            RequestItems: Record<string, { Keys: object[] }>;
          };
          const [table, { Keys }] = Object.entries(asked.RequestItems)[0] as [string, { Keys: object[] }];
          const items = store === 'empty' ? [] : Keys.map((key) => ({ ...key, rank: { S: '2' }, digest: { S: '-' } }));
          body = JSON.stringify({ Responses: { [table]: items } });
        }
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.0' },
            body: Readable.from([Buffer.from(body)]),
          },
        };
      },
    },
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** Part 2: ingestFile on a file from S3 (s3rver, another process), with a DynamoDB that answers at once. */
async function instantStorePart(path: string, store: 'empty' | 'newer'): Promise<Record<string, number>> {
  const stack = await StackProcess.start();
  try {
    const clients = createClients(stack.endpoints);
    const file = await upload(clients, stack.resources, path, '2026-03-09T23:00:00Z');
    const requests: Record<string, number> = {};
    const dynamodb = instantDynamoDb(store, requests);
    const start = performance.now();
    const cpu = process.cpuUsage();
    const result = await ingestFile({ run, file }, { config, s3: clients.s3, dynamodb, resources: stack.resources });
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    clients.s3.destroy();
    return {
      rows: result.counts.read,
      bytes: file.bytes,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      batchGets: requests.BatchGetItem ?? 0,
      batchWrites: requests.BatchWriteItem ?? 0,
      puts: requests.PutItem ?? 0,
    };
  } finally {
    await stack.stop();
  }
}

/** Part 3: ingestFile into the local DynamoDB and S3, each run timed, our CPU and the store's measured. */
async function endToEndPart(first: string): Promise<Record<string, Record<string, number>>> {
  const stack = await StackProcess.start();
  try {
    const clients = createClients(stack.endpoints);
    const requests = countRequests(clients);
    const firstFile = await upload(clients, stack.resources, first, '2026-03-09T22:00:00Z');
    const results: Record<string, Record<string, number>> = {};
    const measure = async (name: string, input: IngestInput) => {
      for (const key of Object.keys(requests)) delete requests[key];
      const storeBefore = await stack.cpuSeconds();
      const cpu = process.cpuUsage();
      const start = performance.now();
      const result = await ingestFile(input, { config, ...clients, resources: stack.resources });
      const seconds = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      const storeSeconds = (await stack.cpuSeconds()) - storeBefore;
      process.stderr.write(`${name}: ${seconds.toFixed(1)} s ${JSON.stringify(result.counts)}\n`);
      results[name] = {
        seconds,
        ourCpu: (used.user + used.system) / 1e6,
        storeCpu: storeSeconds,
        ...result.counts,
        batchGets: requests.BatchGetItemCommand ?? 0,
        batchWrites: requests.BatchWriteItemCommand ?? 0,
        puts: requests.PutItemCommand ?? 0,
      };
    };
    await measure('first ingest (every row new)', { run, file: firstFile });
    await measure('same file again (every row unchanged)', { run, file: firstFile });
    clients.s3.destroy();
    clients.dynamodb.destroy();
    return results;
  } finally {
    await stack.stop();
  }
}

/**
 * This script bundled as a Lambda is (esbuild, ESM, dependencies included), so that what is
 * measured is the code as it runs in AWS rather than through the TypeScript loader.
 */
async function bundleThisScript(dir: string): Promise<string> {
  // Imported at run time: the bundle itself carries neither the bundler nor the CDK.
  const [bundler, lib] = ['esbuild', '../lib/charlie-function.ts'];
  const { build } = (await import(bundler)) as typeof import('esbuild');
  const { ESM_REQUIRE_BANNER } = (await import(lib)) as typeof import('../lib/charlie-function.ts');
  const outfile = join(dir, 'ingest-bench.mjs');
  await build({
    entryPoints: ['bench/ingest.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    logLevel: 'error',
  });
  return outfile;
}

/** Runs a part in a fresh process of the bundle, started as Lambda starts it, and returns what it measured, with its peak RSS. */
async function inChild<T>(bundle: string, part: string, ...args: string[]): Promise<T & { peakRssMb: number }> {
  const child = spawn(process.execPath, [...INGEST_HEAP_FLAGS, bundle, '--part', part, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`bench part ${part} failed (exit ${code})`);
  return JSON.parse(out) as T & { peakRssMb: number };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

async function main(): Promise<void> {
  const partIndex = process.argv.indexOf('--part');
  if (partIndex >= 0) {
    const [part, a = '', b = ''] = process.argv.slice(partIndex + 1);
    let result: unknown;
    if (part === 'stack') return serveStack();
    if (part === 'parse') result = await parsePart(a, Number(b));
    else if (part === 'instant') result = await instantStorePart(a, b === 'newer' ? 'newer' : 'empty');
    else if (part === 'e2e') result = await endToEndPart(a);
    else throw new Error(`unknown part ${part}`);
    process.stdout.write(JSON.stringify({ ...(result as object), peakRssMb: peakRssMb() }));
    return;
  }

  // Files are made here, so that each measuring process holds only what it measures.
  const dir = mkdtempSync(join(tmpdir(), 'charlie-bench-'));
  try {
    await measureAll(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureAll(dir: string): Promise<void> {
  const bundle = await bundleThisScript(dir);
  const million = 1_000_000;
  const e2eRows = 100_000;
  process.stderr.write('generating files…\n');
  const plain = join(dir, 'plain.csv');
  const quotedFile = join(dir, 'quoted.csv');
  const first = join(dir, 'first.csv');
  await generate(plain, million, false);
  await generate(quotedFile, million, true);
  await generate(first, e2eRows, false);

  const parseRows: string[] = [];
  const parseRuns = 3;
  for (const quoted of [false, true]) {
    process.stderr.write(
      `parse + validate + identity, ${quoted ? 'quoted' : 'plain'}, node ${INGEST_HEAP_FLAGS.join(' ')}…\n`,
    );
    // A shared machine makes single runs vary by a tenth: the median of a few tells more.
    const runs: (Record<string, number> & { peakRssMb: number })[] = [];
    for (let n = 0; n < parseRuns; n++) {
      const run = await inChild<Record<string, number>>(bundle, 'parse', quoted ? quotedFile : plain, String(million));
      process.stderr.write(`  ${fmt((run.rows ?? 0) / (run.seconds ?? 1))} rows/s, ${fmt(run.peakRssMb)} MB\n`);
      runs.push(run);
    }
    runs.sort((a, b) => (a.seconds ?? 0) - (b.seconds ?? 0));
    const r = runs[Math.floor(parseRuns / 2)] as (typeof runs)[number];
    const rate = (r.rows ?? 0) / (r.seconds ?? 1);
    const peakRss = Math.max(...runs.map((run) => run.peakRssMb));
    parseRows.push(
      `| ${quoted ? 'every field quoted' : 'plain (quotes only where needed)'} | ${fmt(r.rows ?? 0)} | ${fmt((r.bytes ?? 0) / 2 ** 20)} MiB | ${fmt(r.seconds ?? 0, 2)} s | **${fmt(rate)}** | ${fmt(peakRss)} MB |`,
    );
  }

  process.stderr.write('ingestFile with an instant store…\n');
  const instantRows: string[] = [];
  for (const [path, store, what] of [
    [plain, 'newer', 'every row already stored in a newer version: reads only'],
    [first, 'empty', 'nothing stored yet: every row written'],
  ] as const) {
    const r = await inChild<Record<string, number>>(bundle, 'instant', path, store);
    const seconds = r.seconds ?? 1;
    const rows = r.rows ?? 1;
    process.stderr.write(`  ${what}: ${fmt(rows / seconds)} rows/s\n`);
    instantRows.push(
      `| ${what} | ${fmt(rows)} | ${fmt(r.batchGets ?? 0)} / ${fmt(r.batchWrites ?? 0)} / ${fmt(r.puts ?? 0)} | ${fmt(seconds, 1)} s | **${fmt(rows / seconds)}** | ${fmt(((r.cpuSeconds ?? 0) * 1e6) / rows, 1)} µs | ${fmt(r.peakRssMb)} MB |`,
    );
  }

  process.stderr.write('end to end into the local DynamoDB…\n');
  const e2e = await inChild<Record<string, Record<string, number>> & { peakRssMb: number }>(bundle, 'e2e', first);
  const e2eTable = Object.entries(e2e)
    .filter(([name]) => name !== 'peakRssMb')
    .map(([name, value]) => {
      const r = value as Record<string, number>;
      const seconds = r.seconds ?? 1;
      const perRow = (cpu: number) => `${fmt((cpu * 1e6) / e2eRows)} µs`;
      return `| ${name} | ${fmt(seconds, 1)} s | **${fmt(e2eRows / seconds)}** | ${fmt(r.inserted ?? 0)} / ${fmt(r.unchanged ?? 0)} / ${fmt(r.rejected ?? 0)} | ${fmt(r.batchGets ?? 0)} / ${fmt(r.batchWrites ?? 0)} / ${fmt(r.puts ?? 0)} | ${fmt(r.ourCpu ?? 0, 1)} s · ${perRow(r.ourCpu ?? 0)} | ${fmt(r.storeCpu ?? 0, 1)} s · ${perRow(r.storeCpu ?? 0)} |`;
    });
  const load = loadavg()[0] ?? 0;

  process.stdout.write(`## Ingest

Generated IB_Calls exports (9 columns, ~150 bytes a row, 1 row in 1,000 malformed, blank
padding at the end). Each measurement runs in a fresh process of this script bundled as the
Lambda is (esbuild, ESM), with the heap flags the ingest function of ${fmt(INGEST_MEMORY_MB)} MB
is deployed with (lib/ingest-runtime.ts): \`${INGEST_HEAP_FLAGS.join(' ')}\`. Targets: ≥ 300,000 rows/s for
parse + validate + identity in one process; peak RSS ≤ 256 MB whatever the file size; the
write path bound by the store.

### Parse + validate + identity (one process, no store)

Bytes from disk → decoding → CSV → typed values → identity hash, digest, keys and the
complete DynamoDB item of every row. Node \`${INGEST_HEAP_FLAGS.join(' ')}\`; each file is read in
${parseRuns} fresh processes: the median time, the highest peak RSS.

| file | rows | size | time | rows/s | peak RSS |
|---|---|---|---|---|---|
${parseRows.join('\n')}

### The whole ingest path, store answering at once

\`ingestFile\` on a file streamed from S3 (s3rver, in another process) with a DynamoDB client
whose requests never leave the process: the SDK builds, signs and parses each request and
an in-process handler answers at once. This is the ceiling of our side of the write path:
S3 stream, UTF-8 check pass, parsing, batching, and one AWS SDK request per 100 keys read
and per 25 rows written (PutItem: the lease).

| store | rows | BatchGetItem / BatchWriteItem / PutItem | time | rows/s | CPU per row | peak RSS |
|---|---|---|---|---|---|---|
${instantRows.join('\n')}

### End to end into the local DynamoDB

${fmt(e2eRows)} rows through \`ingestFile\` from s3rver into dynalite, both in another process
(dynalite serves one request at a time). "Ours" is the CPU time of the ingesting process
(our code and the AWS SDK), "store" that of the emulators' process; each also per row.

| run | time | rows/s | inserted / unchanged / rejected | BatchGetItem / BatchWriteItem / PutItem | ours: CPU · per row | store: CPU · per row |
|---|---|---|---|---|---|---|
${e2eTable.join('\n')}

Peak RSS of the ingesting process: ${fmt(e2e.peakRssMb)} MB. Load average of the machine when the
run ended: ${fmt(load, 1)} (it is shared; CPU times are less affected than wall times).

Reads are batched 100 keys to a request and writes 25 rows to a BatchWriteItem, under a
lease per business date and export type (one PutItem to take it, one DeleteItem to release
it; see \`functions/ingest/store.ts\` and \`lease.ts\`): a request costs our side about the
same whatever it carries, so batching writes is what moves the bound to the store.
`);
}

await main();
