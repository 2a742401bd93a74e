import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../functions/common/config.ts';
import type { BuildOutput } from '../functions/common/contracts.ts';
import { recordDayBuilt, recordDayDelivered } from '../functions/common/day-status.ts';
import { logger } from '../functions/common/observability.ts';
import { addDays } from '../functions/common/time.ts';
import { startLocalConsole } from '../local/console/server.ts';
import { runLocally, scheduledRuns } from '../local/local-run.ts';
import { launchChromium, openPage } from '../test/console/browser.ts';
import { buildConsole } from '../web/build.ts';

/**
 * The web console: its JavaScript as a browser downloads it (gzip), and the Days page with 90
 * days ready after signing in, in Chromium on the local stack. The last three days are run by
 * the pipeline as the schedule runs them; the 86 days before hold the day records Build and
 * Deliver write (recordDayBuilt, recordDayDelivered), each with the build output of one of the
 * three runs: the Days page reads those records and nothing else.
 */
logger.setLogLevel('SILENT');
const config = loadConfigFile();
const today = '2026-03-10';
const now = () => Date.parse(`${today}T15:00:00Z`);
const runDays = 3;
const signIns = 5;

const work = mkdtempSync(join(tmpdir(), 'charlie-bench-console-'));
const built = await buildConsole(join(work, 'app'));

const lastRunDay = addDays(today, -1);
const firstRunDay = addDays(lastRunDay, -(runDays - 1));
const run = await runLocally({
  config,
  runs: scheduledRuns(config, firstRunDay, lastRunDay, false),
  outDir: join(work, 'out'),
  keepRunning: true,
});
const outputs = run.runs.map((r) => r.summary as unknown as BuildOutput);
if (outputs.some((output) => !output)) throw new Error('a run of the bench failed');
let seeded = 0;
for (let date = addDays(today, -89); date < firstRunDay; date = addDays(date, 1), seeded++) {
  const report = outputs[seeded % outputs.length] as BuildOutput;
  const at = new Date(`${addDays(date, 1)}T12:00:00Z`);
  const executionId = `arn:aws:states:us-east-1:000000000000:execution:charlie-local:${date}-seeded`;
  await recordDayBuilt(run.stack.clients.dynamodb, run.stack.resources.table, {
    date,
    executionId,
    intraday: false,
    at,
    report,
  });
  await recordDayDelivered(run.stack.clients.dynamodb, run.stack.resources.table, date, at);
}

const served = await startLocalConsole({ config, ...run, appDir: join(work, 'app'), now });
const browser = await launchChromium();
const timings: number[] = [];
// The machine's 1-minute load average at each sign-in: the measurement shares the CPUs with it.
const loads: number[] = [];
let rows = 0;
try {
  for (let i = 0; i < signIns; i++) {
    const { context, page } = await openPage(browser);
    await page.goto(served.url);
    await page.getByLabel('Email').fill('viewer@example.com');
    await page.getByLabel('Password').fill(served.password);
    const started = performance.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('table.days tbody tr').first().waitFor();
    timings.push(performance.now() - started);
    loads.push(loadavg()[0] as number);
    rows = await page.locator('table.days tbody tr').count();
    await context.close();
  }
} finally {
  await browser.close();
  await served.close();
  await run.stop();
  rmSync(work, { recursive: true, force: true });
}
timings.sort((a, b) => a - b);
const median = timings[Math.floor(timings.length / 2)] as number;
process.stderr.write(
  `console: ${built.jsGzipBytes} B gzip, Days ready ${median.toFixed(0)} ms (median), ${rows} rows\n`,
);

process.stdout.write(`## Web console

The app's JavaScript as esbuild bundles it (minified, one file) and as a browser downloads it
(gzip -9). Target: ≤ 150 KB gzip.

| JavaScript | gzip |
|---|---|
| ${(built.jsBytes / 1024).toFixed(1)} KiB | ${(built.jsGzipBytes / 1024).toFixed(1)} KiB |

The Days page with its default 90 days, in Chromium (headless, Debian's) on the local stack:
from the click on the local provider's **Sign in** button to the first row of the days table —
the redirect to the console, the code exchanged for tokens, \`/me\` and \`/days\` answered and
rendered. ${runDays} days run by the pipeline as the schedule runs them, and the ${seeded} days
before them the day records Build and Deliver write, each with one of those runs' build output;
${rows} rows shown. ${signIns} sign-ins, each in a fresh browser context; the machine's 1-minute
load average meanwhile ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${cpus().length} CPUs. Target: ≤ 1 s.

| sign-in → Days ready | median | fastest | slowest |
|---|---|---|---|
| ${rows} days | ${median.toFixed(0)} ms | ${(timings[0] as number).toFixed(0)} ms | ${(timings.at(-1) as number).toFixed(0)} ms |
`);
