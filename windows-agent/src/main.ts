import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli.ts';
import { systemCommandRunner } from './commands.ts';

/** In the bundle, build.ts compiles outlook.ps1 in (esbuild `define`); run from the sources, it is read beside them. */
function outlookScript(): string {
  return process.env.CHARLIE_OUTLOOK_SCRIPT ?? readFileSync(new URL('../outlook.ps1', import.meta.url), 'utf8');
}

const bundlePath = fileURLToPath(import.meta.url);

process.exitCode = await runCli(process.argv.slice(2), {
  commands: systemCommandRunner,
  now: Date.now,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  nodePath: process.execPath,
  bundlePath,
  defaultConfigPath: join(dirname(bundlePath), 'agent.config.json'),
  outlookScript: outlookScript(),
});
