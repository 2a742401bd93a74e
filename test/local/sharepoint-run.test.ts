import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../functions/common/config.ts';
import { logger } from '../../functions/common/observability.ts';
import { runLocally } from '../../local/local-run.ts';

const shipped = loadConfigFile();
const config = parseConfig({
  ...shipped,
  sharepoint: {
    hostname: 'contoso.sharepoint.com',
    sitePath: '/sites/Operations',
    library: 'Reports',
    folder: 'Daily/{yyyy}',
  },
});
const date = '2026-03-09';
const now = () => Date.parse('2026-03-10T15:00:00Z');
const dirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a local run with sharepoint configured', () => {
  it('puts the workbook in the fake library folder, links it from the email, and a rerun adds a version of the one file', async () => {
    logger.setLogLevel('SILENT');
    const data = join(tempDir('charlie-sharepoint-data-'), 'stack');
    const out = tempDir('charlie-sharepoint-out-');
    const path = `Daily/2026/Charlie-Intraday-${date}.xlsx`;
    const library = join(data, 'sharepoint', 'contoso.sharepoint.com', 'sites', 'Operations', 'Reports');

    const first = await runLocally({ config, date, dataDir: data, outDir: out, reports: ['Dials'], now });
    expect(first.execution.error).toBeUndefined();
    const copy = first.summary?.delivery.sharepoint;
    expect(copy).toMatchObject({
      uploaded: true,
      site: 'contoso.sharepoint.com/sites/Operations',
      path,
      webUrl: `https://contoso.sharepoint.com/sites/Operations/Reports/${path}`,
    });
    expect(first.sharepointPath).toBe(join(library, ...path.split('/')));
    const workbook = readFileSync(first.workbookPath as string);
    expect(readFileSync(first.sharepointPath as string).equals(workbook)).toBe(true);
    const email = await simpleParser(readFileSync(first.emailPaths[0] as string));
    expect(email.text).toContain(`In SharePoint: https://contoso.sharepoint.com/sites/Operations/Reports/${path}`);

    // Forced on the same kept stack: the same file, replaced, its first upload kept as a version.
    const rerun = await runLocally({ config, date, dataDir: data, outDir: out, reports: ['Dials'], force: true, now });
    expect(rerun.summary?.delivery).toMatchObject({ sent: true, sharepoint: { uploaded: true, path } });
    const index = JSON.parse(readFileSync(join(data, 'sharepoint', '.versions', 'index.json'), 'utf8')) as {
      path: string;
      versions: unknown[];
    }[];
    expect(index.map((file) => [file.path, file.versions.length])).toEqual([[path, 2]]);
    expect(readFileSync(rerun.sharepointPath as string).equals(readFileSync(rerun.workbookPath as string))).toBe(true);
  });
});
