import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { loadConfigFile } from '../functions/common/config.ts';
import { configDefine, ESM_REQUIRE_BANNER } from '../lib/charlie-function.ts';

/**
 * Every Lambda bundled as CDK bundles it (ESM, minified, AWS SDK included, configuration
 * compiled in), then its size and the time a fresh Node process takes to import it — the
 * module-level work of a cold start, without the Lambda runtime's own start-up.
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

const rows: string[] = [];
for (const name of functions) {
  const outfile = join(out, name, 'index.mjs');
  await build({
    entryPoints: [join('functions', name, 'index.ts')],
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
  const bytes = statSync(outfile).size;
  const runs = Array.from({ length: 5 }, () => importMs(outfile));
  runs.sort((a, b) => a - b);
  const median = runs[2] ?? Number.NaN;
  process.stderr.write(`${name}: ${(bytes / 1024).toFixed(0)} KiB, import ${median.toFixed(0)} ms\n`);
  rows.push(`| ${name} | ${(bytes / 1024).toFixed(0)} KiB | ${median.toFixed(0)} ms |`);
}
rmSync(out, { recursive: true, force: true });

process.stdout.write(`## Lambda bundles

Each function bundled as CDK deploys it (esbuild, ESM, minified, AWS SDK v3 included), and the
median of five cold imports of the bundle in a fresh Node process (module-level work: SDK
clients, configuration, handler set-up). Targets: ≤ 1 MB per function except build; init < 300 ms.

| function | bundle | cold import |
|---|---|---|
${rows.join('\n')}
`);

function importMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      ...process.env,
      DATA_BUCKET: 'data',
      REPORTS_BUCKET: 'reports',
      TABLE_NAME: 'table',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_SERVICE_NAME: 'charlie',
      POWERTOOLS_METRICS_NAMESPACE: 'Charlie',
      LINK_BASE_URL: 'https://example.com/',
      SES_CONFIGURATION_SET: 'charlie',
      STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:charlie-daily-report',
    },
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`importing ${file} failed: ${child.stderr.split('\n').slice(-8).join('\n')}`);
  return Number(child.stdout.trim());
}
