import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import { logger } from '../../functions/common/observability.ts';
import type { TeamsMessage } from '../../functions/deliver/teams.ts';
import { type LocalRunResult, runLocally } from '../../local/local-run.ts';
import type { TeamsPost } from '../../local/teams-receiver.ts';

const examplePath = 'examples/teams-alerts.config.json';
const config = loadConfigFile(examplePath);
const date = '2026-03-09';
// The day after, mid-morning in Chicago: every export of the day is in.
const now = () => Date.parse('2026-03-10T15:00:00Z');

describe('a local run with Teams and two alert rules configured', () => {
  let run: LocalRunResult;
  const out = mkdtempSync(join(tmpdir(), 'charlie-teams-'));

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    run = await runLocally({ config, date, outDir: out, now });
    expect(run.execution.error).toBeUndefined();
  });
  afterAll(async () => run?.stop());

  it('is the shipped configuration with an alerts and a teams section', () => {
    const { alerts, teams, ...rest } = JSON.parse(readFileSync(examplePath, 'utf8')) as Record<string, unknown>;
    expect(rest).toEqual(JSON.parse(readFileSync('charlie.config.json', 'utf8')));
    expect(alerts).toBeDefined();
    expect(teams).toBeDefined();
  });

  it('posts the summary card and the alerts card to the local webhook receiver, recorded in the out folder', () => {
    const posts = run.teamsPaths.map((path) => JSON.parse(readFileSync(path, 'utf8')) as TeamsPost);
    expect(run.teamsPaths.map((path) => path.slice(out.length + 1))).toEqual([
      `${date}-teams-1.json`,
      `${date}-teams-2.json`,
    ]);
    for (const post of posts) expect(post.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/workflows\//);
    const [summary, alerts] = posts.map((post) => (post.body as TeamsMessage).attachments[0].content);
    expect(summary?.version).toBe('1.4');
    expect(JSON.stringify(summary?.body)).toContain(`Charlie report for ${date}`);
    expect(summary?.actions?.[0]?.url).toBe(run.summary?.delivery.link);
    expect(JSON.stringify(alerts?.body)).toContain(`Charlie alerts for ${date}`);
  });

  it('emails the alerts: each rule fired once on the sample day and recovered once', async () => {
    expect(run.summary?.delivery.alerts).toMatchObject({ fired: 2, recovered: 2, teams: true });
    const emails = await Promise.all(run.emailPaths.map(async (path) => simpleParser(readFileSync(path))));
    const alert = emails.find((email) => email.subject?.includes('alerts for'));
    expect(alert?.subject).toBe(`[charlie] alerts for ${date}: 2 breached, 2 recovered`);
    const text = alert?.text ?? '';
    expect(text).toContain('calls-low: handled below 40 (IB_Calls)');
    expect(text).toMatch(/09:00: 33 \(threshold below 40; sample \d+ agents, volume 33\)/);
    expect(text).toContain('recovered at 10:00');
    expect(text).toContain('on-queue-low: on queue below 72 % (Productivity)');
    expect(text).toMatch(/13:00: 71\.5 % \(threshold below 72 %/);
    expect(text).toContain('recovered at 14:00');
  });
});
