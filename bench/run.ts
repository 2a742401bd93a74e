import { parseArgs } from 'node:util';
import { writeSection } from './report.ts';

/**
 * `npm run bench [-- --only NAME]`: runs each benchmark in its own child process (so peak
 * memory is its own), prints its results and writes them to docs/benchmarks.md.
 */
const benchmarks: Record<string, string> = {
  bundles: 'bench/bundles.ts',
  workbook: 'bench/workbook.ts',
  ingest: 'bench/ingest.ts',
  console: 'bench/console.ts',
  cost: 'bench/cost.ts',
};

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const { spawnSync } = await import('node:child_process');
for (const [name, script] of Object.entries(benchmarks)) {
  if (values.only && values.only !== name) continue;
  process.stdout.write(`\n== ${name}\n`);
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const markdown = child.stdout.toString();
  process.stdout.write(markdown);
  if (child.status !== 0) {
    process.stderr.write(`${name} failed (exit ${child.status})\n`);
    process.exitCode = 1;
    continue;
  }
  writeSection(name, markdown);
}
