import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { fromRoot } from '../../lib/paths.ts';
import { openKeptDir } from '../../local/kept.ts';

/** `npm start -- …` in a folder of its own holding centers/, as a repository with several centers runs it. */
function runner(cwd: string, args: string[]) {
  return promisify(execFile)(
    process.execPath,
    [fromRoot('node_modules/tsx/dist/cli.mjs'), fromRoot('local/run.ts'), ...args],
    { cwd, timeout: 300_000 },
  );
}

describe('npm start -- --center NAME', () => {
  const repo = mkdtempSync(join(tmpdir(), 'charlie-local-centers-'));
  mkdirSync(join(repo, 'centers'));
  for (const center of ['example-east', 'example-west']) {
    copyFileSync(fromRoot('examples', 'centers', `${center}.json`), join(repo, 'centers', `${center}.json`));
  }

  it("runs the center's configuration on a stack and in an output folder of its own", async () => {
    const { stdout } = await runner(repo, [
      '--center',
      'example-west',
      '--data',
      'data',
      '--date',
      '2026-03-09',
      '--reports',
      'Productivity',
      '--no-deliver',
    ]);
    expect(stdout).toMatch(/^Productivity\s+\d+/m);
    expect(stdout).toContain(
      `The stack is kept in ${join('data', 'example-west')}: charlie status --local data --center example-west`,
    );

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(join(repo, 'out', 'example-west', 'Charlie-Intraday-2026-03-09.xlsx'));
    // West's exports alone, in its configured order: none of east's.
    expect(
      workbook.worksheets.map((sheet) => sheet.name).filter((name) => !['Summary', 'Problems'].includes(name)),
    ).toEqual(['Productivity', 'QCBS']);
    const kept = openKeptDir(join(repo, 'data', 'example-west'), { readOnly: true });
    expect(kept.executions().map((execution) => execution.status)).toEqual(['SUCCEEDED']);
    expect(existsSync(join(repo, 'data', 'example-east'))).toBe(false);
  });

  it('asks which center to run where the centers folder exists', async () => {
    const failed = await runner(repo, ['--no-deliver']).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({
      code: 1,
      stderr:
        'centers/ holds the centers (example-east, example-west): name one with --center NAME, or a file with --config FILE\n',
    });
  });
});
