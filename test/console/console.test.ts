import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../functions/common/observability.ts';
import { type LocalConsole, startLocalConsole } from '../../local/console/server.ts';
import { type ExecutionSummary, type LocalRunResult, runLocally } from '../../local/local-run.ts';
import { config } from '../console-api/harness.ts';
import { launchChromium, openPage, seriousViolations } from './browser.ts';
import { writeSampleDayWithReject } from './sample.ts';

/**
 * The web console in Chromium against the local stack: the sample day (with one rejected row)
 * run, the console served over it with its OpenID provider, and each role signing in through the
 * provider's login page. One browser, one server; a context per user.
 */

const date = '2026-03-09';
// The day after, mid-morning in Chicago: the day is complete and among the last 90.
const now = () => Date.parse('2026-03-10T15:00:00Z');

describe('the web console in Chromium', () => {
  let dir: string;
  let run: LocalRunResult;
  let served: LocalConsole;
  let browser: Browser;
  let rejected: { line: number; reason: string };

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    dir = mkdtempSync(join(tmpdir(), 'charlie-console-web-'));
    const mailbox = join(dir, 'mailbox');
    mkdirSync(mailbox);
    ({ rejected } = await writeSampleDayWithReject(config, date, mailbox));
    [run, browser] = await Promise.all([
      runLocally({ config, date, outDir: join(dir, 'out'), mailboxDir: mailbox, keepRunning: true, now }),
      launchChromium(),
    ]);
    expect(run.execution.error).toBeUndefined();
    served = await startLocalConsole({ config, ...run, now });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await run?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new browser context in which `email` has signed in through the provider's login page. */
  async function signIn(email: string) {
    const opened = await openPage(browser);
    const { page } = opened;
    await page.goto(served.url);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(served.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    return opened;
  }

  /** Signed in, on the Days page with its days listed. */
  async function signedIn(email: string) {
    const opened = await signIn(email);
    await opened.page.getByRole('heading', { level: 1, name: 'Days' }).waitFor();
    await opened.page.locator('table.days tbody tr').first().waitFor();
    return opened;
  }

  async function openDay(page: Page): Promise<void> {
    await page.getByRole('link', { name: new RegExp(date) }).click();
    await page.getByRole('heading', { level: 2, name: 'Rows per export' }).waitFor();
  }

  it('shows a viewer the days and the day, its rejected row with its reason, and no action', async () => {
    const { page, context, problems } = await signedIn('viewer@example.com');
    // Who is signed in, and so which role the pages follow, is known before the day opens.
    await page.locator('header .user', { hasText: 'Vera Viewer (viewer)' }).waitFor();
    const dayRow = page.locator('table.days tbody tr', { hasText: date });
    await expect(dayRow.innerText()).resolves.toMatch(/Delivered/);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: 'docs/console-days.png' });

    await openDay(page);
    const reject = page.getByRole('row').filter({ hasText: rejected.reason });
    await expect(reject.innerText()).resolves.toMatch(new RegExp(`IB_Calls\\s.*\\s${rejected.line}\\s`));
    const summary = run.summary as ExecutionSummary;
    for (const type of summary.types) {
      const cells = await page.getByRole('row').filter({ hasText: type.type }).first().innerText();
      expect(cells).toContain(type.ingest.read.toLocaleString('en-US'));
    }
    // The two alert rules of the configuration, each crossed once and recovered the next hour.
    const alert = page.getByRole('row').filter({ hasText: 'calls-low' });
    await expect(alert.innerText()).resolves.toMatch(/09:00 \(\d+\)\s+10:00/);
    expect(await page.getByRole('button', { name: /Rerun|Resend|Undo|Cancel|Redrive/ }).count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: 'docs/console-day.png' });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('downloads the workbook through the page: the bytes of the object in S3', async () => {
    const { page, context, problems } = await signedIn('viewer@example.com');
    await openDay(page);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the workbook' }).click(),
    ]);
    const downloaded = readFileSync(await download.path());
    const { workbook } = run.summary as ExecutionSummary;
    const object = await run.stack.clients.s3.send(
      new GetObjectCommand({ Bucket: workbook.bucket, Key: workbook.key }),
    );
    const stored = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    expect(downloaded.length).toBe(workbook.bytes);
    expect(downloaded.equals(stored)).toBe(true);
    // The download is audited, and the audit shows on the day.
    await page.reload();
    await page.getByRole('heading', { level: 2, name: 'Who did what' }).waitFor();
    const audit = page.locator('section[aria-labelledby="audit"] tbody tr', { hasText: 'download' });
    await expect(audit.first().innerText()).resolves.toContain('viewer@example.com');
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows the API's refusal when a viewer reaches an action", async () => {
    const { page, context } = await signedIn('viewer@example.com');
    // The page as it would be had the account claimed the operator role: the API still decides.
    await page.route(`${served.apiUrl}/me`, async (route) => {
      const response = await route.fetch();
      const me = (await response.json()) as { roles: string[] };
      await route.fulfill({ response, json: { ...me, roles: ['viewer', 'operator'] } });
    });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Days' }).waitFor();
    await openDay(page);
    await page.getByRole('button', { name: 'Rerun the day…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rerun' }).click();
    const alert = page.locator('section[aria-labelledby="actions"] [role="alert"]');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/^Not allowed: .*operator/);
    await context.close();
  });

  it('signs in again without asking when the API refuses the token, and returns to the page', async () => {
    const { page, context, problems } = await signedIn('viewer@example.com');
    // A token the API no longer takes (revoked, or signed with a rotated key), kept since long before.
    const accessToken = () =>
      page.evaluate(
        () => (JSON.parse(sessionStorage.getItem('charlie.tokens') ?? '{}') as { accessToken?: string }).accessToken,
      );
    const refused = await page.evaluate(() => {
      const tokens = JSON.parse(sessionStorage.getItem('charlie.tokens') as string) as { accessToken: string };
      const tampered = `${tokens.accessToken}x`;
      sessionStorage.setItem('charlie.tokens', JSON.stringify({ ...tokens, accessToken: tampered }));
      sessionStorage.setItem('charlie.signedInAt', '0');
      return tampered;
    });
    await page.getByRole('navigation').getByRole('link', { name: 'Health' }).click();
    // The provider's session is still open: no login page, straight back to the Health page.
    await page.getByRole('heading', { level: 2, name: 'Last successful run' }).waitFor();
    expect(new URL(page.url()).hash).toBe('#/health');
    const renewed = await accessToken();
    expect(renewed).toBeTruthy();
    expect(renewed).not.toBe(refused);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('tells a signed-in user without a role that they have no access', async () => {
    const { page, context, problems } = await signIn('nobody@example.com');
    await page.getByRole('heading', { level: 1, name: 'No access yet' }).waitFor();
    expect(await page.locator('table').count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('lets an operator rerun the day and follow it to its end', async () => {
    const { page, context, problems } = await signedIn('operator@example.com');
    await openDay(page);
    const executionsBefore = await page.locator('section[aria-labelledby="executions"] tbody tr').count();
    await page.getByRole('button', { name: 'Rerun the day…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByLabel('Deliver the email').uncheck();
    await dialog.getByRole('button', { name: 'Rerun' }).click();
    const progress = page.locator('.progress [role="status"]');
    await progress.filter({ hasText: /succeeded|failed|timed out|cancelled/ }).waitFor({ timeout: 240_000 });
    expect(await progress.innerText()).toMatch(/^Rerun 2026-03-09: succeeded/);
    await page.locator('section[aria-labelledby="executions"] tbody tr').nth(executionsBefore).waitFor();
    const audit = page.locator('section[aria-labelledby="audit"] tbody tr', { hasText: 'rerun' });
    await expect(audit.first().innerText()).resolves.toContain('operator@example.com');

    for (const [link, heading] of [
      ['Today', /^Today/],
      ['Health', /^Health$/],
    ] as const) {
      await page.getByRole('navigation').getByRole('link', { name: link }).click();
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await page.getByRole('heading', { level: 2 }).first().waitFor();
      expect(await seriousViolations(page)).toEqual([]);
    }
    expect(problems).toEqual([]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign out of Charlie Reporting' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    // Back at the console with the provider's session ended: its login page, not the console.
    await page.goto(served.url);
    await page.getByRole('heading', { name: 'Sign in to Charlie Reporting' }).waitFor();
    await context.close();
    // A rerun of the whole sample day: minutes on a loaded machine.
  }, 300_000);
});
