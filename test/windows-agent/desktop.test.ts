import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rollingLog } from '../../windows-agent/src/log.ts';
import { powershellOutlookReader } from '../../windows-agent/src/outlook.ts';
import { FakeWindows } from './fake-windows.ts';
import { type Clock, type Desk, desk, desktop, outlookScript } from './harness.ts';

const token = `desk-1.${'Ab3_-'.repeat(8)}xyz`;
const clock: Clock = { now: Date.parse('2026-03-10T15:00:00Z') };
let d: Desk;

beforeEach(async () => {
  d = await desk({ endpoint: 'https://abc.lambda-url.us-east-1.on.aws/', token, clock });
});

afterEach(async () => {
  await rm(d.dir, { recursive: true, force: true });
});

describe('install, uninstall, status', () => {
  it('registers an hourly task that runs in the logged-on user session', async () => {
    expect(await d.run('install')).toBe(0);
    expect(d.windows.calls).toEqual([
      {
        command: 'schtasks.exe',
        args: [
          '/Create',
          '/TN',
          'Charlie Agent',
          '/TR',
          `"${desktop.nodePath}" "${desktop.bundlePath}" run --config "${d.configPath}"`,
          '/SC',
          'HOURLY',
          '/IT',
          '/F',
        ],
      },
    ]);
  });

  it('registers the folder mode with its folder', async () => {
    expect(await d.run('install', '--from-folder', '/Users/ops/Genesys exports')).toBe(0);
    expect(d.windows.tasks.get('Charlie Agent')).toBe(
      `"${desktop.nodePath}" "${desktop.bundlePath}" run --config "${d.configPath}" --from-folder "/Users/ops/Genesys exports"`,
    );
  });

  it('refuses a command line schtasks would cut, and a desk without its token', async () => {
    expect(await d.run('install', '--from-folder', `/${'x'.repeat(200)}`)).toBe(1);
    expect(d.err.join('\n')).toMatch(/over the 261 schtasks allows/);
    await rm(join(d.dir, 'token.txt'));
    expect(await d.run('install')).toBe(1);
    expect(d.err.join('\n')).toMatch(/Cannot read the agent token/);
    expect(d.windows.calls).toEqual([]);
  });

  it('removes the task, and says so when there is none', async () => {
    await d.run('install');
    expect(await d.run('uninstall')).toBe(0);
    expect(d.windows.calls.at(-1)).toEqual({
      command: 'schtasks.exe',
      args: ['/Delete', '/TN', 'Charlie Agent', '/F'],
    });
    expect(d.windows.tasks.size).toBe(0);
    expect(await d.run('uninstall')).toBe(1);
    expect(d.err.join('\n')).toMatch(/schtasks \/Delete failed \(exit code 1\): ERROR: The system cannot find/);
  });

  it('status shows the agent, what it reads, and the task as Task Scheduler has it', async () => {
    await d.run('status');
    expect(d.out).toEqual([
      'Agent:      desk-1',
      'Endpoint:   https://abc.lambda-url.us-east-1.on.aws/',
      'Reads:      reports@example.com / Inbox/Genesys',
      'Last push:  none yet',
      'Last run:   none yet',
      'Pending:    0',
      'Task:       not installed (run "install"): schtasks /Query failed (exit code 1): ERROR: The system cannot find the file specified.',
    ]);
    await d.run('install');
    d.out.length = 0;
    await d.run('status');
    expect(d.windows.calls.at(-1)).toEqual({
      command: 'schtasks.exe',
      args: ['/Query', '/TN', 'Charlie Agent', '/FO', 'LIST'],
    });
    expect(d.out.at(-1)).toMatch(/^Task:\nFolder: \\\r\nTaskName: +\\Charlie Agent\r\nNext Run Time/);
  });
});

describe('the command line', () => {
  it('names each bad field of the configuration, and exits 2', async () => {
    await writeFile(d.configPath, JSON.stringify({ endpoint: 'not a url', outlook: {}, windowHours: 0 }));
    expect(await d.run('run')).toBe(2);
    expect(d.err[0]).toMatch(/endpoint: /);
    expect(d.err[0]).toMatch(/outlook\.folder: /);
    expect(d.err[0]).toMatch(/windowHours: /);
  });

  it('refuses a token file that does not hold a token', async () => {
    await writeFile(join(d.dir, 'token.txt'), 'paste the token here');
    expect(await d.run('run')).toBe(1);
    expect(d.err.join('\n')).toMatch(/does not hold a token as printed by "npm run agent-token -- create"/);
  });

  it('explains its usage', async () => {
    expect(await d.run('--help')).toBe(0);
    expect(d.out[0]).toMatch(/^Charlie agent/);
    expect(await d.run('push')).toBe(2);
    expect(await d.run('run', '--since', 'yesterday')).toBe(2);
  });
});

describe('Outlook, through outlook.ps1', () => {
  it('runs the script in Windows PowerShell with exactly these arguments, and reads its JSON', async () => {
    const saveDir = await mkdtemp(join(tmpdir(), 'charlie-outlook-'));
    const windows = new FakeWindows();
    // What the script writes for a message that never travelled by SMTP, and an Exchange sender.
    windows.run = async (command, args) => {
      windows.calls.push({ command, args: [...args] });
      await writeFile(
        join(saveDir, 'attachments.json'),
        `\uFEFF${JSON.stringify([
          {
            id: '00000000ABCD/2',
            entryId: '00000000ABCD',
            internetMessageId: null,
            receivedAt: '2026-03-09T15:00:30.1234567Z',
            sentAt: '2026-03-09T15:00:00.0000000Z',
            sender: 'No-Reply@MyPureCloud.com',
            subject: null,
            attachmentName: 'Análisis.csv',
            size: 1234,
            path: join(saveDir, '1.csv'),
          },
        ])}`,
      );
      return { code: 0, stdout: '', stderr: '' };
    };
    const reader = powershellOutlookReader(windows, 'C:\\Users\\ops\\CharlieAgent\\outlook.ps1');
    const read = await reader.read({
      folder: 'Inbox/Genesys',
      account: 'reports@example.com',
      since: new Date('2026-03-07T15:00:00Z'),
      saveDir,
      known: ['AAA/1', 'BBB/1'],
    });
    expect(windows.calls).toEqual([
      {
        command: 'powershell.exe',
        args: [
          '-NoProfile',
          '-NonInteractive',
          '-ExecutionPolicy',
          'Bypass',
          '-File',
          'C:\\Users\\ops\\CharlieAgent\\outlook.ps1',
          '-Folder',
          'Inbox/Genesys',
          '-Since',
          '2026-03-07T15:00:00.000Z',
          '-SaveDir',
          saveDir,
          '-KnownFile',
          join(saveDir, 'known.txt'),
          '-OutFile',
          join(saveDir, 'attachments.json'),
          '-Account',
          'reports@example.com',
        ],
      },
    ]);
    expect(await readFile(join(saveDir, 'known.txt'), 'utf8')).toBe('AAA/1\r\nBBB/1');
    expect(read).toEqual([
      {
        id: '00000000ABCD/2',
        messageId: '00000000ABCD',
        receivedAt: '2026-03-09T15:00:30.123Z',
        sentAt: '2026-03-09T15:00:00.000Z',
        sender: 'no-reply@mypurecloud.com',
        subject: '',
        attachmentName: 'Análisis.csv',
        size: 1234,
        path: join(saveDir, '1.csv'),
      },
    ]);
    await rm(saveDir, { recursive: true, force: true });
  });

  it('writes the script beside the state before it runs it', async () => {
    d.windows.messages = [];
    await d.run('run');
    expect(await readFile(join(d.dir, 'outlook.ps1'), 'utf8')).toBe(outlookScript);
    expect(d.windows.calls[0]?.args[5]).toBe(join(d.dir, 'outlook.ps1'));
  });

  it('stays a short script, and docs/windows-agent.md explains every COM call it makes', async () => {
    const lines = outlookScript.split('\n').filter((line) => line.trim() && !line.trim().startsWith('#'));
    expect(lines.length).toBeLessThanOrEqual(80);
    const calls = new Set(
      [
        ...outlookScript.matchAll(/\$(?:outlook|mapi|inbox|own|recipient|current|item|attachment)[\w.]*?\.(\w+)\(/g),
      ].map((m) => m[1]),
    );
    for (const member of ['Restrict', 'SaveAsFile', 'GetNamespace', 'GetDefaultFolder'])
      expect(calls).toContain(member);
    const docs = await readFile(new URL('../../docs/windows-agent.md', import.meta.url), 'utf8');
    for (const member of calls) expect(docs, member).toContain(`${member}(`);
    for (const property of ['EntryID', 'ReceivedTime', 'SentOn', 'SenderEmailType', 'Class', 'Type', '0x1035001F']) {
      expect(docs, property).toContain(property);
    }
  });
});

describe('the rolling log', () => {
  it('keeps its newest lines in a few small files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'charlie-log-'));
    const path = join(dir, 'logs', 'agent.log');
    const log = rollingLog(path, { maxBytes: 200, keep: 3, now: () => clock.now });
    for (let i = 0; i < 20; i++) log.info('Pushed', { n: i });
    expect((await readdir(join(dir, 'logs'))).sort()).toEqual(['agent.log', 'agent.log.1', 'agent.log.2']);
    for (const name of ['agent.log', 'agent.log.1', 'agent.log.2']) {
      expect((await readFile(join(dir, 'logs', name))).length).toBeLessThanOrEqual(200);
    }
    const last = (await readFile(path, 'utf8')).trim().split('\n').at(-1) as string;
    expect(JSON.parse(last)).toEqual({ time: '2026-03-10T15:00:00.000Z', level: 'info', message: 'Pushed', n: 19 });
    await rm(dir, { recursive: true, force: true });
  });
});
