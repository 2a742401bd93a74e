import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile } from '../../functions/common/config.ts';
import { fromRoot, repoRoot } from '../../lib/paths.ts';

const run = promisify(execFile);

function badConfigFile(): string {
  const config = JSON.parse(readFileSync(fromRoot('charlie.config.json'), 'utf8')) as Record<string, unknown>;
  const path = join(mkdtempSync(join(tmpdir(), 'charlie-config-')), 'charlie.config.json');
  writeFileSync(path, JSON.stringify({ ...config, timeZone: 'Mars/Base' }));
  return path;
}

describe('configuration', () => {
  it('rejects a bad field with a ConfigError naming it', () => {
    const path = badConfigFile();
    expect(() => loadConfigFile(path)).toThrow(ConfigError);
    expect(() => loadConfigFile(path)).toThrow(/timeZone: unknown IANA time zone/);
  });

  it('makes the CDK app exit non-zero with the field named and no stack trace', async () => {
    const failure = await run(join(repoRoot, 'node_modules', '.bin', 'tsx'), ['bin/charlie.ts'], {
      cwd: repoRoot,
      env: { ...process.env, CHARLIE_CONFIG_FILE: badConfigFile() },
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('timeZone: unknown IANA time zone');
    expect(failure?.stderr).not.toMatch(/\n\s+at /);
  });
});
