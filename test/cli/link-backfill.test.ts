import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListStateMachinesCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planBackfill, uploadBackfill } from '../../cli/backfill.ts';
import { main, runCli } from '../../cli/charlie.ts';
import { freshLink } from '../../cli/link.ts';
import { collect } from '../../functions/collect/collect.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import { reportKey } from '../../functions/common/keys.ts';
import { verifyLinkToken } from '../../functions/common/link-token.ts';
import { logger } from '../../functions/common/observability.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { genesys, ibCallsCsv, mime } from '../collect/harness.ts';
import { captureTerminal } from './terminal.ts';

const config = loadConfigFile();
const signingKey = 'k'.repeat(64);
let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  dir = await mkdtemp(join(tmpdir(), 'charlie-cli-'));
  stack = await startLocalStack(join(dir, 'stack'));
});
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('charlie link', () => {
  it('signs a link to the current workbook of a day with the link key, as delivery does', async () => {
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand, { SecretId: 'charlie/link-key' }).resolves({
      SecretString: JSON.stringify({ key: signingKey }),
    });
    const key = reportKey('2026-03-09');
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: stack.resources.reportsBucket, Key: key, Body: 'xlsx' }),
    );
    const outputs = { ReportsBucketName: stack.resources.reportsBucket, DownloadLinkUrl: 'https://links.example/' };
    const now = Date.parse('2026-03-12T08:00:00Z');
    const link = await freshLink(
      { s3: stack.clients.s3, secrets: new SecretsManagerClient({ region: 'us-east-1' }) },
      config,
      outputs,
      { date: '2026-03-09', now },
    );
    const token = new URL(link.url).searchParams.get('t') ?? '';
    expect(link.url.startsWith('https://links.example/')).toBe(true);
    const check = verifyLinkToken(token, signingKey, now);
    expect(check).toMatchObject({ valid: true, claims: { key } });
    expect(link.expiresAt.getTime()).toBe(now + config.delivery.linkExpiryHours * 3_600_000);
    // Signed with another key, it is refused.
    expect(verifyLinkToken(token, 'x'.repeat(64), now).valid).toBe(false);

    await expect(
      freshLink({ s3: stack.clients.s3, secrets: new SecretsManagerClient({}) }, config, outputs, {
        date: '2026-03-10',
        intradayTime: '1400',
      }),
    ).rejects.toThrow(/No report for 2026-03-10 at 1400 yet .*charlie rerun --date 2026-03-10/);
    secrets.restore();
  });
});

describe('charlie backfill', () => {
  const terminal = captureTerminal();
  let from: string;
  beforeAll(async () => {
    from = join(dir, 'saved');
    await mkdir(join(from, 'march'), { recursive: true });
    const email = (id: string, date: string, received: string) =>
      mime({
        from: genesys,
        to: config.mailbox.user,
        subject: 'Scheduled export: IB_Calls',
        date: new Date(date),
        messageId: `<${id}@mypurecloud.com>`,
        headers: { Received: `from genesys by mx.example.com; ${new Date(received).toUTCString()}` },
        attachments: [{ filename: `IB_Calls_${id}.csv`, content: ibCallsCsv.replace('4.0', id.length.toFixed(1)) }],
      });
    // 10:00 CDT on 2026-03-09, and 00:30 CDT on 2026-03-11: inside 2026-03-10's grace period too.
    await writeFile(join(from, 'march', 'one.eml'), await email('one', '2026-03-09T15:00:00Z', '2026-03-09T15:00:20Z'));
    // 00:30 CDT on 2026-03-10: the last export of 2026-03-09, whose run collects it in its grace period.
    await writeFile(
      join(from, 'march', 'late.eml'),
      await email('late', '2026-03-10T05:30:00Z', '2026-03-10T05:30:20Z'),
    );
    await writeFile(join(from, 'two.EML'), await email('second', '2026-03-11T05:30:00Z', '2026-03-11T05:30:20Z'));
    await writeFile(join(from, 'Dials__2026-03-09_1400.csv'), 'Interval Start\n');
    await writeFile(join(from, 'notes.txt'), 'not an export');
    const undated = join(from, 'march', 'ACQ export.csv');
    await writeFile(undated, 'Interval Start\n');
    await utimes(undated, new Date('2026-03-09T20:00:00Z'), new Date('2026-03-09T20:00:00Z'));
  });

  it('uploads saved mail and CSVs where collect finds them, once, and knows the days they cover', {
    timeout: 30_000,
  }, async () => {
    const plan = await planBackfill(from, config);
    expect(plan.skipped).toEqual(['notes.txt']);
    // two.EML came at 00:30 on 2026-03-11, in the grace period of a day the folder does not hold.
    expect(plan.days).toEqual(['2026-03-09', '2026-03-11']);
    expect(plan.files.map((f) => [f.path.slice(from.length + 1), f.atFrom, f.day])).toEqual([
      ['Dials__2026-03-09_1400.csv', 'file name', '2026-03-09'],
      ['march/ACQ export.csv', 'file time', '2026-03-09'],
      ['march/late.eml', 'Received header', '2026-03-09'],
      ['march/one.eml', 'Received header', '2026-03-09'],
      ['two.EML', 'Received header', '2026-03-11'],
    ]);
    const bucket = stack.resources.dataBucket;
    const first = await uploadBackfill(stack.clients.s3, bucket, plan, () => undefined);
    expect(first).toEqual({ uploaded: 5, present: 0 });
    const progress: string[] = [];
    const again = await uploadBackfill(stack.clients.s3, bucket, plan, (done, total) =>
      progress.push(`${done}/${total}`),
    );
    expect(again).toEqual({ uploaded: 0, present: 5 });
    expect(progress).toEqual(['1/5', '2/5', '3/5', '4/5', '5/5']);

    // The run of 2026-03-09 collects both CSVs and the email of that day.
    const result = await collect(
      { input: { date: '2026-03-09' }, executionId: 'backfill-test' },
      {
        config,
        s3: stack.clients.s3,
        resources: stack.resources,
        mail: undefined,
        now: () => Date.parse('2026-03-12T00:00:00Z'),
      },
    );
    expect(result.files.map((f) => [f.type, f.origin, f.attachmentName]).sort()).toEqual([
      ['ACQ', 'agent', 'ACQ export.csv'],
      ['Dials', 'agent', 'Dials__2026-03-09_1400.csv'],
      ['IB_Calls', 'saved-mail', 'IB_Calls_late.csv'],
      ['IB_Calls', 'saved-mail', 'IB_Calls_one.csv'],
    ]);
    const listed = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'inbox/' }));
    expect(listed.Contents?.map((o) => o.Key?.split('/').slice(0, 3).join('/')).sort()).toEqual([
      'inbox/agent/backfill',
      'inbox/agent/backfill',
      'inbox/eml/backfill',
      'inbox/eml/backfill',
      'inbox/eml/backfill',
    ]);
  });

  it('starts a run per day without emailing, or only says what it would do', async () => {
    const sfn = mockClient(SFNClient);
    const s3 = mockClient(S3Client);
    const cloudformation = mockClient(CloudFormationClient);
    const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:charlie-daily-report';
    sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        { name: 'charlie-daily-report', stateMachineArn: arn, type: 'STANDARD', creationDate: new Date() },
      ],
    });
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${arn}:x`, startDate: new Date() });
    s3.on(HeadObjectCommand).rejects(
      Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
    s3.on(PutObjectCommand).resolves({});
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'charlie',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'DataBucketName', OutputValue: 'data-bucket' },
            { OutputKey: 'ReportsBucketName', OutputValue: 'reports-bucket' },
            { OutputKey: 'DownloadLinkUrl', OutputValue: 'https://links.example/' },
            { OutputKey: 'TableName', OutputValue: 'table' },
          ],
        },
      ],
    });
    try {
      expect(await main(['backfill', '--from', from, '--dry-run', '--region', 'us-east-1'])).toBe(0);
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
      expect(terminal.out).toContain('would start a run with {"date":"2026-03-11","deliver":false}');

      expect(await main(['backfill', '--from', from, '--region', 'us-east-1'])).toBe(0);
      expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Bucket)).toEqual(
        Array(5).fill('data-bucket'),
      );
      expect(sfn.commandCalls(StartExecutionCommand).map((c) => JSON.parse(c.args[0].input.input ?? '{}'))).toEqual([
        { date: '2026-03-09', deliver: false },
        { date: '2026-03-11', deliver: false },
      ]);
      expect(await runCli(['backfill', '--from', join(from, 'nowhere'), '--region', 'us-east-1'])).toBe(2);
    } finally {
      sfn.restore();
      s3.restore();
      cloudformation.restore();
    }
  });
});
