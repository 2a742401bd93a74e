import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../functions/common/config.ts';
import type { BuildResult, RowCounts, SharePointCopy } from '../../functions/common/contracts.ts';
import { composeReportMessage } from '../../functions/deliver/message.ts';
import { filePath } from '../../functions/deliver/sharepoint.ts';

const config = loadConfigFile();
const zero: RowCounts = { read: 0, inserted: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0, blank: 0 };
const report: BuildResult = {
  workbook: { bucket: 'reports', key: 'reports/2026-03-09/Charlie-Intraday-2026-03-09.xlsx', bytes: 1000 },
  types: config.exports.map((spec) => ({ type: spec.type, tab: spec.tab, rows: 10, files: 1, ingest: zero })),
  totals: zero,
  missing: [],
};
const site = 'contoso.sharepoint.com/sites/Reporting';
const path = 'Charlie/2026/03/Charlie-Intraday-2026-03-09.xlsx';

async function compose(sharepoint: SharePointCopy, missing: string[] = []) {
  const message = await composeReportMessage(config, {
    date: '2026-03-09',
    kind: 'daily',
    report: { ...report, missing },
    executionId: 'arn:aws:states:us-east-1:000000000000:execution:charlie-daily-report:daily',
    link: 'https://links.example.com/?t=abc.def',
    linkExpiresAt: new Date('2026-03-17T12:00:00Z'),
    sharepoint,
    sentAt: new Date('2026-03-10T12:00:00Z'),
  });
  const parsed = await simpleParser(message.raw);
  return { text: parsed.text ?? '', html: typeof parsed.html === 'string' ? parsed.html : '' };
}

describe('the SharePoint copy in the report email', () => {
  it('links the file when it was uploaded, with no attention block', async () => {
    const webUrl = `https://contoso.sharepoint.com/sites/Reporting/Shared%20Documents/${path}`;
    const { text, html } = await compose({
      uploaded: true,
      site,
      path,
      webUrl,
      itemId: '01ABC',
      bytes: 1000,
      session: false,
    });
    expect(text).toContain(`In SharePoint: ${webUrl}`);
    expect(html).toContain(`<a href="${webUrl}" style="color:#0b5cad">Open it in SharePoint</a>`);
    expect(text).not.toMatch(/needs attention/i);
  });

  it('says the copy failed and why, the workbook pointer kept for the workbook’s own problems only', async () => {
    const failed: SharePointCopy = { uploaded: false, site, path, error: 'Microsoft Graph denied app <x> access' };
    const alone = await compose(failed);
    expect(alone.text).toContain(`NEEDS ATTENTION\n- The copy to SharePoint failed (${site}, ${path})`);
    expect(alone.text).toContain('    Microsoft Graph denied app <x> access');
    expect(alone.html).toContain('Microsoft Graph denied app &lt;x&gt; access');
    expect(alone.text).not.toContain('Details: the workbook');
    expect(alone.text).not.toContain('In SharePoint:');

    const withMissing = await compose(failed, ['ACQ']);
    expect(withMissing.text).toContain("Details: the workbook's Summary tab.");
  });
});

describe('the SharePoint file path', () => {
  const sharepoint = parseConfig({ ...config, sharepoint: { siteId: 'a,b,c' } }).sharepoint;
  const workbook = { key: 'reports/2026-03-09/Charlie-Intraday-2026-03-09-1400.xlsx', date: '2026-03-09' };

  it('fills the folder and file name from the business day and the workbook’s name', () => {
    if (!sharepoint) throw new Error('no sharepoint section');
    expect(filePath(sharepoint, workbook)).toBe('Charlie/2026/03/Charlie-Intraday-2026-03-09-1400.xlsx');
    expect(
      filePath({ ...sharepoint, folder: '/Reports/{yyyy}/{mm}-{dd}', fileName: 'Day {date}.xlsx' }, workbook),
    ).toBe('Reports/2026/03-09/Day 2026-03-09.xlsx');
    expect(filePath({ ...sharepoint, folder: '' }, workbook)).toBe('Charlie-Intraday-2026-03-09-1400.xlsx');
  });
});
