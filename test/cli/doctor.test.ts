import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetScheduleCommand, type GetScheduleCommandOutput, SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetAccountCommand, GetEmailIdentityCommand, NotFoundException, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/charlie.ts';
import {
  type CheckResult,
  checkAgentUploads,
  checkAlarms,
  checkConfiguration,
  checkDeployedSchedules,
  checkMailbox,
  checkMessages,
  checkNextRuns,
  checkSenderIdentity,
  checkSesAccount,
  exitCode,
  formatChecklist,
  runDoctor,
} from '../../cli/doctor.ts';
import { createAgentToken } from '../../functions/agent-upload/tokens.ts';
import type { MailSource } from '../../functions/collect/mail.ts';
import { type Config, defaultConfigPath } from '../../functions/common/config.ts';
import { agentInboxKey } from '../../functions/common/keys.ts';
import type { FakeGraph } from '../../local/graph-server.ts';
import { clientSecret, config, csvMessage, useHarness } from '../collect/harness.ts';
import { captureTerminal } from './terminal.ts';

const h = useHarness();
/** The harness's messages arrive on 2026-03-09: this is within a day of them. */
const now = Date.parse('2026-03-10T00:00:00Z');

function source(fake: FakeGraph, mailbox: Partial<Config['mailbox']> = {}, secret = clientSecret): MailSource {
  return h.graphSource(fake, {
    mailbox: { ...config.mailbox, ...mailbox, graphBaseUrl: fake.graphBaseUrl, authorityHost: fake.authorityHost },
    credential: { clientSecret: secret },
  });
}

const byName = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.name.split(' ')[0], r]));

describe('the checklist', () => {
  const results: CheckResult[] = [
    { name: 'Configuration', status: 'ok', detail: 'charlie.config.json' },
    { name: 'Folder Inbox/Genesys', status: 'fail', detail: 'not found', next: 'create it', items: ['one', 'two'] },
    { name: 'Schedules', status: 'warn', detail: 'off', next: 'turn them on' },
    { name: 'Alarms', status: 'skip', detail: 'not on the local stack', next: 'never shown' },
  ];

  it('marks each check, lists its items, and gives the next step of a failure or a warning', () => {
    expect(formatChecklist('charlie doctor — here', results)).toBe(
      [
        'charlie doctor — here',
        '',
        '✓ Configuration: charlie.config.json',
        '✗ Folder Inbox/Genesys: not found',
        '    one',
        '    two',
        '    → create it',
        '! Schedules: off',
        '    → turn them on',
        '– Alarms: not on the local stack',
        '',
        '1 ✓, 1 ✗, 1 !, 1 – (4 checks)',
        '',
      ].join('\n'),
    );
  });

  it('exits 1 when a check failed, 0 when only warnings or checks not made remain', () => {
    expect(exitCode(results)).toBe(1);
    expect(exitCode(results.filter((r) => r.status !== 'fail'))).toBe(0);
  });
});

describe('configuration', () => {
  const terminal = captureTerminal();

  it('fails naming the field, and stops there', async () => {
    const path = join(h.dir, 'bad.config.json');
    await writeFile(path, JSON.stringify({ ...config, timeZone: 'Mars/Olympus' }));
    const { result, config: loaded } = checkConfiguration(path);
    expect(loaded).toBeUndefined();
    expect(result).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('timeZone: unknown IANA time zone'),
    });
    expect(result.next).toContain(path);

    expect(await main(['doctor', '--config', path])).toBe(1);
    expect(terminal.out).toContain('✗ Configuration: Invalid');
    expect(terminal.out).toContain('0 ✓, 1 ✗, 0 !, 0 – (1 checks)');
  });
});

describe('the mailbox through Graph', () => {
  it('passes token, mailbox, Mail.Read and folder, and hands on the last day of messages', async () => {
    const fake = await h.fakeGraph({
      messages: [csvMessage('a'), csvMessage('old', { receivedDateTime: '2026-03-08T12:00:00Z' })],
    });
    const { results, messages } = await checkMailbox(config, source(fake), now);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(messages?.map((m) => m.internetMessageId)).toEqual(['<a@mypurecloud.com>']);
  });

  it('fails the token when the app credential is refused, and checks nothing further', async () => {
    const fake = await h.fakeGraph({ messages: [csvMessage('a')] });
    const { results, messages } = await checkMailbox(config, source(fake, {}, 'wrong-secret'), now);
    expect(messages).toBeUndefined();
    expect(results.map((r) => r.status)).toEqual(['fail', 'skip', 'skip', 'skip']);
    expect(results[0]?.detail).toMatch(/Could not get a Microsoft Graph token .*invalid_client.*AADSTS7000215/);
    expect(results[0]?.next).toContain(config.mailbox.secretName);
  });

  it('fails the folder when it is not there', async () => {
    const fake = await h.fakeGraph({ messages: [csvMessage('a')] });
    const missing = { ...config, mailbox: { ...config.mailbox, folder: 'Inbox/Genesys Exports' } };
    const { results } = await checkMailbox(missing, source(fake, missing.mailbox), now);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'fail']);
    const folder = byName(results).Folder;
    expect(folder?.detail).toContain('no folder "Genesys Exports" under Inbox');
    expect(folder?.next).toContain('mailbox.folder');
  });

  it('fails Mail.Read when the app was not granted it', async () => {
    const fake = await h.fakeGraph({ messages: [csvMessage('a')], permission: 'none' });
    const { results } = await checkMailbox(config, source(fake), now);
    expect(results.map((r) => r.status)).toEqual(['ok', 'skip', 'fail', 'skip']);
    expect(results[2]?.detail).toContain('needs Mail.Read on this mailbox');
    expect(results[2]?.next).toContain('docs/graph.md');
  });

  it('fails the mailbox when there is no such user', async () => {
    const fake = await h.fakeGraph({ messages: [csvMessage('a')] });
    const other = { ...config, mailbox: { ...config.mailbox, user: 'nobody@example.com' } };
    const { results } = await checkMailbox(other, source(fake, other.mailbox), now);
    expect(results.map((r) => r.status)).toEqual(['ok', 'fail', 'skip', 'skip']);
    expect(results[1]?.next).toContain('mailbox.user');
  });
});

describe('what a run would do with each message', () => {
  const processed = 'Inbox/Genesys/Processed';

  async function check(fake: FakeGraph, mailbox: Partial<Config['mailbox']> = {}) {
    const checked = { ...config, mailbox: { ...config.mailbox, ...mailbox } };
    const mail = source(fake, mailbox);
    const { messages } = await checkMailbox(checked, mail, now);
    return checkMessages({ mail, s3: h.stack.clients.s3, resources: h.stack.resources }, checked, messages ?? [], now);
  }

  it('names the export type of each, and stores and moves nothing', async () => {
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('a'),
        csvMessage('b', {
          name: 'Dials_2026-03-09_1000.csv',
          subject: 'Scheduled export: Dials',
          receivedDateTime: '2026-03-09T16:00:30Z',
        }),
      ],
      permission: 'Mail.ReadWrite',
      folders: [processed],
    });
    const result = await check(fake, { moveProcessedTo: processed });
    expect(result.status).toBe('ok');
    expect(result.items).toEqual([
      'IB_Calls: 1 messages, the latest received 03-09 10:00',
      'Dials: 1 messages, the latest received 03-09 11:00',
    ]);
    expect(await h.storedKeys('')).toEqual([]);
    expect(fake.messagesIn(processed)).toEqual([]);
    expect(fake.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1.0/'))).toEqual([]);
  });

  it('fails when nothing would be collected, listing each message with its reason', async () => {
    const fake = await h.fakeGraph({ messages: [csvMessage('a', { from: 'reports@example.org' })] });
    const result = await check(fake);
    expect(result).toMatchObject({ status: 'fail', detail: expect.stringContaining('none would be collected') });
    expect(result.items).toEqual([
      '03-09 10:00  reports@example.org  "Scheduled export: IB_Calls"  → ignored: IB_Calls_2026-03-09_1000.csv: sender reports@example.org is not accepted (mailbox.senders), yet it sends what looks like an export',
    ]);
    expect(result.next).toContain('add reports@example.org or @example.org to mailbox.senders');
  });

  it('fails when an export-shaped file would be left out though others are collected', async () => {
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('a'),
        csvMessage('b', { from: 'reports@example.org', receivedDateTime: '2026-03-09T16:00:30Z' }),
      ],
    });
    const result = await check(fake);
    expect(result).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('1 would be collected, 1 files that look like exports would not'),
      next: expect.stringContaining('add reports@example.org or @example.org to mailbox.senders'),
    });
  });

  it('warns when some are ignored, listing those and what else they held', async () => {
    const pdf = { name: 'notes.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4') };
    const fake = await h.fakeGraph({
      messages: [
        csvMessage('a', {
          attachments: [
            { name: 'IB_Calls_2026-03-09_1000.csv', contentType: 'text/csv', content: Buffer.from('x') },
            pdf,
          ],
        }),
        csvMessage('b', { subject: 'Trends', receivedDateTime: '2026-03-09T16:00:30Z', attachments: [pdf] }),
      ],
    });
    const result = await check(fake);
    expect(result).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('1 would be collected, 1 ignored'),
    });
    expect(result.items?.slice(1)).toEqual([
      '03-09 10:00  no-reply@mypurecloud.com  "Scheduled export: IB_Calls"  → IB_Calls; ignored: notes.pdf: not a CSV file, a zip or an email',
      '03-09 11:00  no-reply@mypurecloud.com  "Trends"  → ignored: notes.pdf: not a CSV file, a zip or an email',
    ]);
  });

  it('warns when the folder had no message in the last day', async () => {
    const fake = await h.fakeGraph({ messages: [] });
    expect(await check(fake)).toMatchObject({ status: 'warn', next: expect.stringContaining(config.mailbox.user) });
  });
});

describe('SES', () => {
  const client = new SESv2Client({});
  const ses = mockClient(client);
  afterEach(() => ses.reset());
  const notFound = new NotFoundException({ message: 'not found', $metadata: {} });

  // aws-ses-v2-local has no identities: GetEmailIdentity is mocked.
  it('fails an identity that is pending verification', async () => {
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'charlie@example.com' }).resolves({
      VerifiedForSendingStatus: false,
      VerificationStatus: 'PENDING',
    });
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).rejects(notFound);
    const result = await checkSenderIdentity(client, 'charlie@example.com');
    expect(result).toMatchObject({ status: 'fail', detail: 'not verified: charlie@example.com is PENDING' });
    expect(result.next).toContain('verification link');
  });

  it('passes an address whose domain is verified, and fails one with no identity at all', async () => {
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'charlie@example.com' }).rejects(notFound);
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves({ VerifiedForSendingStatus: true });
    expect(await checkSenderIdentity(client, 'charlie@example.com')).toMatchObject({ status: 'ok' });
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).rejects(notFound);
    const missing = await checkSenderIdentity(client, 'charlie@example.com');
    expect(missing).toMatchObject({ status: 'fail', next: expect.stringContaining('npx cdk deploy') });
  });
});

describe('the SES account, on the SES emulator', () => {
  const account = (productionAccess: boolean) =>
    JSON.stringify({
      DedicatedIpAutoWarmupEnabled: false,
      Details: {
        AdditionalContactEmailAddresses: [],
        ContactLanguage: 'EN',
        MailType: 'TRANSACTIONAL',
        ReviewDetails: { CaseId: '', Status: 'GRANTED' },
        UseCaseDescription: '',
        WebsiteURL: '',
      },
      EnforcementStatus: 'HEALTHY',
      ProductionAccessEnabled: productionAccess,
      SendingEnabled: true,
      SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 0 },
      SuppressionAttributes: { SuppressedReasons: [] },
    });
  afterEach(() => vi.unstubAllEnvs());

  it('fails in the sandbox, naming the recipients that would need verifying', async () => {
    // aws-ses-v2-local answers GetAccount with the account in this variable.
    vi.stubEnv('AWS_SES_ACCOUNT', account(false));
    const result = await checkSesAccount(h.stack.clients.sesv2, config);
    expect(result).toMatchObject({ status: 'fail', detail: expect.stringContaining('in the SES sandbox') });
    expect(result.detail).toContain(config.delivery.to[0]);
    expect(result.next).toContain('Request production access');

    vi.stubEnv('AWS_SES_ACCOUNT', account(true));
    expect(await checkSesAccount(h.stack.clients.sesv2, config)).toMatchObject({ status: 'ok' });
  });
});

describe('schedules', () => {
  const scheduled = { ...config, schedule: { ...config.schedule, daily: '06:00', intraday: ['12:00'] } };

  it("computes the next run times in the center's zone, across a clock change", () => {
    // 01:00 CST on the day clocks go forward: the next 06:00 is daylight time.
    const result = checkNextRuns(scheduled, Date.parse('2026-03-08T07:00:00Z'));
    expect(result).toMatchObject({ status: 'ok' });
    expect(result.items).toEqual([
      'daily run 06:00 → next 2026-03-08 06:00 (UTC-05:00)',
      'intraday run 12:00 → next 2026-03-08 12:00 (UTC-05:00)',
    ]);
    const late = checkNextRuns(scheduled, Date.parse('2026-03-08T18:00:00Z'));
    expect(late.items?.[0]).toBe('daily run 06:00 → next 2026-03-09 06:00 (UTC-05:00)');
    expect(checkNextRuns({ ...scheduled, schedule: { ...scheduled.schedule, enabled: false } }, now).status).toBe(
      'warn',
    );
  });

  // EventBridge Scheduler and CloudFormation have no emulator here: their clients are mocked.
  const aws = {
    stackName: 'charlie',
    cloudformation: new CloudFormationClient({}),
    scheduler: new SchedulerClient({}),
  };
  const cloudformation = mockClient(aws.cloudformation);
  const scheduler = mockClient(aws.scheduler);
  afterEach(() => {
    cloudformation.reset();
    scheduler.reset();
  });

  function deploy(schedules: Record<string, Omit<GetScheduleCommandOutput, '$metadata'>>) {
    cloudformation.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: [
        ...Object.keys(schedules).map((name) => ({
          LogicalResourceId: name,
          PhysicalResourceId: name,
          ResourceType: 'AWS::Scheduler::Schedule',
          ResourceStatus: 'CREATE_COMPLETE' as const,
          LastUpdatedTimestamp: new Date(),
        })),
        {
          LogicalResourceId: 'Table',
          PhysicalResourceId: 'charlie-table',
          ResourceType: 'AWS::DynamoDB::Table',
          ResourceStatus: 'CREATE_COMPLETE',
          LastUpdatedTimestamp: new Date(),
        },
      ],
    });
    for (const [name, schedule] of Object.entries(schedules)) {
      scheduler.on(GetScheduleCommand, { Name: name }).resolves({ Name: name, ...schedule });
    }
  }
  const run = (expression: string, intraday: boolean, state: 'ENABLED' | 'DISABLED' = 'ENABLED') => ({
    ScheduleExpression: expression,
    ScheduleExpressionTimezone: 'America/Chicago',
    State: state,
    Target: {
      Arn: 'arn:aws:states:us-east-1:123456789012:stateMachine:charlie-daily-report',
      RoleArn: 'arn:aws:iam::123456789012:role/scheduler',
      Input: JSON.stringify({
        scheduledTime: '<aws.scheduler.scheduled-time>',
        ...(intraday ? { intraday: true } : {}),
      }),
    },
  });
  const runCheck = {
    ScheduleExpression: 'cron(0 7 * * ? *)',
    ScheduleExpressionTimezone: 'America/Chicago',
    State: 'ENABLED' as const,
    Target: { Arn: 'arn:aws:lambda:us-east-1:123456789012:function:run-check', RoleArn: 'arn:role' },
  };

  it('passes when each configured run has an enabled schedule in the zone', async () => {
    deploy({
      'charlie-Daily-1': run('cron(0 6 * * ? *)', false),
      'charlie-Intraday1200-1': run('cron(0 12 * * ? *)', true),
      'charlie-After0600-1': runCheck,
    });
    const result = await checkDeployedSchedules(aws, scheduled);
    expect(result).toMatchObject({ status: 'ok', detail: '2 run schedules match the configuration' });
    expect(cloudformation.commandCalls(ListStackResourcesCommand)[0]?.args[0].input).toEqual({ StackName: 'charlie' });
  });

  it('fails a missing schedule and a disabled one', async () => {
    deploy({ 'charlie-Daily-1': run('cron(0 6 * * ? *)', false, 'DISABLED') });
    const result = await checkDeployedSchedules(aws, scheduled);
    expect(result.status).toBe('fail');
    expect(result.detail).toBe('charlie-Daily-1 is DISABLED; no deployed schedule for the intraday run 12:00');
    expect(result.next).toContain('npx cdk deploy');
  });
});

describe('agent uploads, on the local stack', () => {
  const env = () => ({ s3: h.stack.clients.s3, dynamodb: h.stack.clients.dynamodb, resources: h.stack.resources });
  const store = () => ({ dynamodb: h.stack.clients.dynamodb, table: h.stack.resources.table });

  it('fails an agent with a token and no upload in the last day, and passes one that uploaded', async () => {
    const at = Date.now();
    await createAgentToken(store(), 'quiet-pc', new Date(at));
    await createAgentToken(store(), 'busy-pc', new Date(at));
    const key = agentInboxKey(
      config.agentInbox.prefix,
      'busy-pc',
      new Date(at - 60_000).toISOString(),
      'ab'.repeat(32),
      'IB_Calls.csv',
    );
    await h.stack.clients.s3.send(new PutObjectCommand({ Bucket: h.stack.resources.dataBucket, Key: key, Body: 'x' }));

    const result = await checkAgentUploads(env(), config, at);
    expect(result).toMatchObject({ status: 'fail', detail: 'quiet-pc: no upload in the last 24 hours' });
    expect(result.items).toEqual(
      expect.arrayContaining([
        'quiet-pc: no upload in the last 7 days',
        expect.stringMatching(
          new RegExp(
            `^busy-pc: last upload \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} \\(UTC[-+]\\d{2}:\\d{2}\\) \\(${key}\\)$`,
          ),
        ),
      ]),
    );
    expect(result.next).toContain('docs/windows-agent.md');
  });
});

describe('alarms', () => {
  // CloudWatch has no emulator here: its client is mocked.
  const client = new CloudWatchClient({});
  const cloudwatch = mockClient(client);
  afterEach(() => cloudwatch.reset());

  it("lists the stack's alarms in ALARM, and passes when there are none", async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        {
          AlarmName: 'charlie-MonitoringRunFailed1234-ABCD',
          AlarmDescription: 'A run failed, timed out or was aborted.',
          StateValue: 'ALARM',
          StateUpdatedTimestamp: new Date('2026-03-09T11:05:00Z'),
        },
      ],
    });
    const result = await checkAlarms(client, 'charlie');
    expect(result).toMatchObject({ status: 'fail', detail: '1 in ALARM' });
    expect(result.items).toEqual([
      'charlie-MonitoringRunFailed1234-ABCD: A run failed, timed out or was aborted. (since 2026-03-09T11:05:00.000Z)',
    ]);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toMatchObject({
      AlarmNamePrefix: 'charlie-',
      StateValue: 'ALARM',
    });
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    expect(await checkAlarms(client, 'charlie')).toMatchObject({ status: 'ok' });
  });
});

describe('a deployed stack', () => {
  it('runs every check, and a call the credentials may not make fails that check alone', async () => {
    const aws = {
      stackName: 'charlie',
      cloudformation: new CloudFormationClient({}),
      scheduler: new SchedulerClient({}),
      cloudwatch: new CloudWatchClient({}),
      ses: new SESv2Client({}),
    };
    // None of these services has an emulator here.
    mockClient(aws.cloudformation).on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
    const ses = mockClient(aws.ses);
    ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: true });
    ses.on(GetAccountCommand).resolves({ ProductionAccessEnabled: true, SendingEnabled: true });
    const denied = Object.assign(new Error('User is not authorized to perform: cloudwatch:DescribeAlarms'), {
      name: 'AccessDenied',
    });
    mockClient(aws.cloudwatch).on(DescribeAlarmsCommand).rejects(denied);
    const fake = await h.fakeGraph({ messages: [csvMessage('a')] });
    const env = {
      description: 'stack charlie',
      mail: source(fake),
      s3: h.stack.clients.s3,
      dynamodb: h.stack.clients.dynamodb,
      resources: h.stack.resources,
      aws,
    };

    const { heading, results } = await runDoctor(defaultConfigPath, async () => env, now);
    expect(heading).toBe('charlie doctor — stack charlie');
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['Configuration', 'ok'],
      [`Graph token for app ${config.mailbox.clientId}`, 'ok'],
      [`Mailbox ${config.mailbox.user}`, 'ok'],
      [`Mail.Read on ${config.mailbox.user}`, 'ok'],
      [`Folder ${config.mailbox.folder}`, 'ok'],
      ['Messages of the last 24 hours', 'ok'],
      [`SES identity ${config.delivery.from}`, 'ok'],
      ['SES account', 'ok'],
      ['Schedules', 'ok'],
      ['Deployed schedules', 'fail'],
      ['Agent uploads', expect.stringMatching(/^(skip|fail)$/)],
      ['Alarms', 'fail'],
    ]);
    expect(results.at(-1)?.detail).toBe(
      'could not check: AccessDenied: User is not authorized to perform: cloudwatch:DescribeAlarms',
    );
  });
});

describe('charlie doctor', () => {
  const terminal = captureTerminal();

  it('fails with the next step when the stack is not deployed', async () => {
    // The command makes its own clients: every CloudFormation client is mocked for this test.
    const cloudformation = mockClient(CloudFormationClient);
    cloudformation.on(DescribeStacksCommand).rejects(new Error('Stack with id charlie does not exist'));
    try {
      expect(await main(['doctor', '--region', 'us-east-1'])).toBe(1);
    } finally {
      cloudformation.restore();
    }
    expect(terminal.out).toContain('✗ Stack charlie: No stack named charlie');
    expect(terminal.out).toContain('→ npx cdk deploy');
  });

  it('checks the local stack with a generated sample mailbox, and passes', async () => {
    expect(await main(['doctor', '--local'])).toBe(0);
    expect(terminal.out).toMatch(/^charlie doctor — the local stack/);
    expect(terminal.out).toContain('✓ Folder Inbox/Genesys');
    expect(terminal.out).toMatch(/[✓!] Messages of the last 24 hours: \d+ checked/);
    expect(terminal.out).toContain('– Alarms: not on the local stack');
    expect(terminal.out).toMatch(
      /✓ Schedules: run times in America\/Chicago\n {4}daily run 06:00 → next \d{4}-\d{2}-\d{2} 06:00/,
    );
    expect(terminal.out).toMatch(/\d+ ✓, 0 ✗, [01] !, 5 – \(12 checks\)/);
  });
});
