import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const source = dirname(fileURLToPath(import.meta.url));

export interface ConsoleBuild {
  /** Paths relative to the output folder: index.html and the hashed assets. */
  files: string[];
  jsBytes: number;
  jsGzipBytes: number;
}

/**
 * The console as static files in `outDir`: one script and one stylesheet under `assets/`, named
 * by their content's hash (cached for good), and an index.html loading them with no inline
 * script or style, as the Content-Security-Policy requires. `/config.json` is not built here:
 * the host serves it.
 */
export async function buildConsole(outDir: string): Promise<ConsoleBuild> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(source, 'src', 'main.tsx')],
    outdir: outDir,
    entryNames: 'assets/[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome120', 'firefox120', 'safari17', 'edge120'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    metafile: true,
    logLevel: 'error',
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => relative(outDir, path));
  const script = outputs.find((path) => path.endsWith('.js'));
  const stylesheet = outputs.find((path) => path.endsWith('.css'));
  if (!script || !stylesheet)
    throw new Error(`The console's bundle lacks a script or stylesheet: ${outputs.join(', ')}`);
  writeFileSync(
    join(outDir, 'index.html'),
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Charlie Reporting</title>
<link rel="stylesheet" href="/${stylesheet}">
<script type="module" src="/${script}"></script>
</head>
<body>
<div id="app"><noscript>The Charlie Reporting console needs JavaScript.</noscript></div>
</body>
</html>
`,
  );
  const js = readFileSync(join(outDir, script));
  return { files: ['index.html', ...outputs], jsBytes: js.length, jsGzipBytes: gzipSync(js, { level: 9 }).length };
}
