import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export const benchmarksPath = 'docs/benchmarks.md';

/** The machine a result was measured on, for the record beside it. */
export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/**
 * Replaces one benchmark's section of docs/benchmarks.md (between its markers), so each
 * benchmark can be rerun alone without touching the others' results.
 */
export function writeSection(name: string, markdown: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = `${begin}\n${markdown.trim()}\n\n_Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}._\n${end}`;
  const current = existsSync(benchmarksPath)
    ? readFileSync(benchmarksPath, 'utf8')
    : '# Benchmarks\n\nWritten by `npm run bench`; each section is replaced when its benchmark runs again.\n';
  const start = current.indexOf(begin);
  const stop = current.indexOf(end);
  const next =
    start >= 0 && stop > start
      ? `${current.slice(0, start)}${section}${current.slice(stop + end.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(benchmarksPath, next);
}

/** Peak resident set size of this process so far, in MB (Linux reports it in kB). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
