import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { loadConfigFile } from '../functions/common/config.ts';
import { ENV, METRIC_NAMESPACE, SERVICE_NAME } from '../functions/common/names.ts';
import { configDefine, ESM_REQUIRE_BANNER } from '../lib/charlie-function.ts';

/**
 * Every Lambda bundled as CDK bundles it (ESM, minified, AWS SDK included, configuration
 * compiled in), then its size and the time a fresh Node process takes to import it — the
 * module-level work of a cold start, without the Lambda runtime's own start-up. Each is also
 * bundled with the Powertools Tracer loaded and capturing an SDK client, which is what X-Ray
 * tracing that records SDK calls would cost (the functions are deployed without it).
 */
const config = loadConfigFile();
const out = mkdtempSync(join(tmpdir(), 'charlie-bundles-'));
// `tsx bench/bundles.ts collect` measures only the functions named.
const only = process.argv.slice(2);
const functions = readdirSync('functions').filter((name) => {
  if (only.length > 0 && !only.includes(name)) return false;
  try {
    return statSync(join('functions', name, 'index.ts')).isFile();
  } catch {
    return false;
  }
});

/** The handler as deployed, and the same with the Tracer capturing an SDK client at load, as tracing would. */
function entry(name: string, traced: boolean) {
  const handler = JSON.stringify(`./${join('functions', name, 'index.ts')}`);
  const tracer = traced
    ? `import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { S3Client } from '@aws-sdk/client-s3';
const tracer = new Tracer({ serviceName: 'charlie' });
tracer.captureAWSv3Client(new S3Client({}));
export const middleware = captureLambdaHandler(tracer);
`
    : '';
  return { contents: `${tracer}export { handler } from ${handler};`, resolveDir: process.cwd(), loader: 'ts' as const };
}

interface Measured {
  kib: number;
  ms: number;
}

async function measure(name: string, traced: boolean): Promise<Measured> {
  const outfile = join(out, `${name}${traced ? '-traced' : ''}`, 'index.mjs');
  await build({
    stdin: entry(name, traced),
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    define: configDefine(config),
    logLevel: 'error',
  });
  const runs = Array.from({ length: 5 }, () => importMs(outfile));
  runs.sort((a, b) => a - b);
  return { kib: statSync(outfile).size / 1024, ms: runs[2] ?? Number.NaN };
}

const rows: string[] = [];
for (const name of functions) {
  const plain = await measure(name, false);
  const traced = await measure(name, true);
  process.stderr.write(
    `${name}: ${plain.kib.toFixed(0)} KiB, import ${plain.ms.toFixed(0)} ms; with the Tracer ${traced.kib.toFixed(0)} KiB, ${traced.ms.toFixed(0)} ms\n`,
  );
  rows.push(
    `| ${name} | ${plain.kib.toFixed(0)} KiB | ${plain.ms.toFixed(0)} ms | ${traced.kib.toFixed(0)} KiB (+${(traced.kib - plain.kib).toFixed(0)}) | ${traced.ms.toFixed(0)} ms (${signed(traced.ms - plain.ms)}) |`,
  );
}
rmSync(out, { recursive: true, force: true });

process.stdout.write(`## Lambda bundles

Each function bundled as CDK deploys it (esbuild, ESM, minified, AWS SDK v3 included), and the
median of five cold imports of the bundle in a fresh Node process (module-level work: SDK
clients, configuration, handler set-up), as the CPU time the import took (user and system): on
a shared machine wall time mostly counts waiting for a core, CPU time does not. Targets: ≤ 1 MB
per function except build; init < 300 ms.
"With the Tracer": the same bundle with the Powertools Tracer loaded and capturing an SDK
client, as X-Ray tracing that records SDK calls needs; the functions are deployed without it
(a cost above 100 KiB or 40 ms per function). Load at the end: ${loadavg()[0]?.toFixed(1)}.

| function | bundle | cold import | with the Tracer: bundle | with the Tracer: cold import |
|---|---|---|---|---|
${rows.join('\n')}
`);

function signed(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${ms.toFixed(0)} ms`;
}

function importMs(file: string): number {
  const script = `const t = process.cpuUsage(); await import(${JSON.stringify(file)}); const d = process.cpuUsage(t); console.log((d.user + d.system) / 1000);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      ...process.env,
      [ENV.dataBucket]: 'data',
      [ENV.reportsBucket]: 'reports',
      [ENV.table]: 'table',
      AWS_REGION: 'us-east-1',
      [ENV.powertoolsServiceName]: SERVICE_NAME,
      [ENV.powertoolsMetricsNamespace]: METRIC_NAMESPACE,
      [ENV.linkBaseUrl]: 'https://example.com/',
      [ENV.sesConfigurationSet]: 'charlie',
      [ENV.stateMachineArn]: 'arn:aws:states:us-east-1:123456789012:stateMachine:charlie-daily-report',
    },
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`importing ${file} failed: ${child.stderr.split('\n').slice(-8).join('\n')}`);
  return Number(child.stdout.trim());
}
