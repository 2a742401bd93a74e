import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = new URL('./', import.meta.url);

/** Where `npm run agent:build` writes the agent. */
export const agentBundlePath = fileURLToPath(new URL('dist/charlie-agent.mjs', root));

/** The agent as one file for the desktop: Node 24, no native modules, outlook.ps1 compiled in. */
export async function buildAgent(outfile: string = agentBundlePath): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL('src/main.ts', root))],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    define: {
      'process.env.CHARLIE_OUTLOOK_SCRIPT': JSON.stringify(readFileSync(new URL('outlook.ps1', root), 'utf8')),
    },
    logLevel: 'warning',
  });
}

// Run as `npm run agent:build`, not when a test imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildAgent();
  process.stdout.write(`${agentBundlePath}\n`);
}
