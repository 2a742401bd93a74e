import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent } from '../../windows-agent/build.ts';
import { outlookScript } from './harness.ts';

const run = promisify(execFile);

describe('the agent bundle', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlie-agent-bundle-'));
    await buildAgent(join(dir, 'charlie-agent.mjs'));
    await writeFile(
      join(dir, 'agent.config.json'),
      JSON.stringify({ endpoint: 'http://127.0.0.1:9/', outlook: { folder: 'Inbox/Genesys' } }),
    );
    await writeFile(join(dir, 'token.txt'), `desk-1.${'a'.repeat(43)}`);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is one file that Node runs as it is', async () => {
    expect(await readdir(dir)).toEqual(['agent.config.json', 'charlie-agent.mjs', 'token.txt']);
    const { stdout } = await run(process.execPath, [join(dir, 'charlie-agent.mjs'), 'status']);
    expect(stdout).toMatch(/^Agent: {6}desk-1\n/);
  });

  it('carries outlook.ps1, and writes it beside its state to run it', async () => {
    // Off Windows there is no powershell.exe: the run fails there, after writing the script.
    const failed = run(process.execPath, [join(dir, 'charlie-agent.mjs'), 'run']);
    await expect(failed).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/powershell\.exe/) });
    expect(await readFile(join(dir, 'outlook.ps1'), 'utf8')).toBe(outlookScript);
  });
});
