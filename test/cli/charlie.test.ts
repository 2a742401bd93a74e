import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { main, runCli } from '../../cli/charlie.ts';
import { loadConfigFile, maxLinkExpiryHours, parseConfig } from '../../functions/common/config.ts';
import { captureTerminal } from './terminal.ts';

// Step Functions has no local emulator that serves its API, so the SDK client is mocked here.
const sfn = mockClient(SFNClient);
const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:charlie-daily-report';
const terminal = captureTerminal();

beforeEach(() => {
  sfn.reset();
  sfn.on(ListStateMachinesCommand).resolves({
    stateMachines: [
      { name: 'other', stateMachineArn: 'arn:other', type: 'STANDARD', creationDate: new Date() },
      { name: 'charlie-daily-report', stateMachineArn: arn, type: 'STANDARD', creationDate: new Date() },
    ],
  });
});

describe('charlie CLI', () => {
  it('reruns a day on the deployed state machine, found by name', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${arn}:run-1`, startDate: new Date() });
    expect(
      await main(['rerun', '--date', '2026-03-09', '--reports', 'Dials,ACQ', '--force', '--region', 'us-east-1']),
    ).toBe(0);
    const call = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(call?.stateMachineArn).toBe(arn);
    expect(JSON.parse(call?.input ?? '{}')).toEqual({ date: '2026-03-09', reports: ['Dials', 'ACQ'], force: true });
    expect(terminal.out).toContain(`${arn}:run-1`);
  });

  it('undoes a file, or an email on a given day, with an execution input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${arn}:undo-1`, startDate: new Date() });
    const key = `raw/2026-03-09/Dials/${'a'.repeat(64)}.csv`;
    expect(await main(['undo', '--source', key, '--region', 'us-east-1'])).toBe(0);
    expect(await main(['undo', '--source', '<m1@x>', '--source', '<m2@x>', '--date', '2026-03-08', '--force'])).toBe(0);
    const inputs = sfn.commandCalls(StartExecutionCommand).map((call) => JSON.parse(call.args[0].input.input ?? '{}'));
    expect(inputs).toEqual([
      { date: '2026-03-09', undo: [key] },
      { date: '2026-03-08', undo: ['<m1@x>', '<m2@x>'], force: true },
    ]);
    expect(await runCli(['undo', '--source', '<m1@x>', '--region', 'us-east-1'])).toBe(2);
    expect(terminal.err).toContain('needs --date');
    expect(await runCli(['undo', '--source', key, '--date', '2026-03-10', '--region', 'us-east-1'])).toBe(2);
    expect(terminal.err).toContain('2026-03-09 is another day');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
  });

  it('shows the latest executions of a day with their counts', async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: `${arn}:a`,
          stateMachineArn: arn,
          name: 'a',
          status: 'SUCCEEDED',
          startDate: new Date('2026-03-10T12:00:00Z'),
        },
        {
          executionArn: `${arn}:b`,
          stateMachineArn: arn,
          name: 'b',
          status: 'FAILED',
          startDate: new Date('2026-03-09T12:00:00Z'),
        },
      ],
    });
    const counts = { read: 10, inserted: 4, updated: 1, unchanged: 5, stale: 0, rejected: 0, blank: 3 };
    sfn
      .on(DescribeExecutionCommand, { executionArn: `${arn}:a` })
      .resolves({
        executionArn: `${arn}:a`,
        stateMachineArn: arn,
        status: 'SUCCEEDED',
        startDate: new Date(),
        input: '{"date":"2026-03-09"}',
        output: JSON.stringify({
          date: '2026-03-09',
          types: [{ type: 'Dials', rows: 5, ingest: counts }],
          missing: ['ACQ'],
          files: 12,
          undone: {
            files: 11,
            read: 30,
            removed: 20,
            listed: [{ key: 'raw/2026-03-09/Dials/a.csv', type: 'Dials', read: 3, removed: 2 }],
          },
          manifest: { bucket: 'data', key: 'runs/2026-03-09/a/manifest.json' },
          mail: {
            messagesIgnored: 88,
            ignored: [
              {
                reason:
                  'sender noreply@example.org is not accepted (mailbox.senders), yet it sends what looks like an export',
                severity: 'suspicious',
                fix: 'add noreply@example.org or @example.org to mailbox.senders',
                count: 85,
                messageId: '<e>',
                subject: 'Scheduled export: Dials',
                example:
                  'Dials.csv: sender noreply@example.org is not accepted (mailbox.senders), yet it sends what looks like an export',
              },
              {
                reason: 'not a CSV',
                severity: 'intentional',
                count: 3,
                messageId: '<m>',
                subject: 's',
                example: 'a.pdf: not a CSV',
              },
            ],
            ignoredReasonsNotListed: 2,
          },
          delivery: { sent: true },
        }),
      })
      .on(DescribeExecutionCommand, { executionArn: `${arn}:b` })
      .resolves({
        executionArn: `${arn}:b`,
        stateMachineArn: arn,
        status: 'FAILED',
        startDate: new Date(),
        input: '{"date":"2026-03-08"}',
        error: 'TransientError',
        cause: '{"errorType":"TransientError","errorMessage":"Rate exceeded"}',
      });
    expect(await main(['status', '--date', '2026-03-09', '--region', 'us-east-1'])).toBe(0);
    expect(terminal.out).toContain('SUCCEEDED');
    expect(terminal.out).toMatch(/Dials\s+5 rows {2}read 10, inserted 4, updated 1, unchanged 5, stale 0, rejected 0/);
    expect(terminal.out).toContain('missing: ACQ');
    // Lists stay in the manifest: counts, the first undone files, and where the rest are.
    expect(terminal.out).toContain('undone: 11 files, 20 rows taken out');
    expect(terminal.out).toContain('raw/2026-03-09/Dials/a.csv (2 rows)');
    expect(terminal.out).toContain('… 10 more in the manifest');
    // Ignored mail grouped by reason, with what to change and one example each.
    expect(terminal.out).toContain(
      '85 ignored (suspicious) — sender noreply@example.org is not accepted (mailbox.senders), yet it sends what looks like an export → add noreply@example.org or @example.org to mailbox.senders\n        e.g. "Scheduled export: Dials" <e>: Dials.csv\n',
    );
    expect(terminal.out).toContain('3 ignored (intentional) — not a CSV\n        e.g. "s" <m>: a.pdf\n');
    expect(terminal.out).toContain("and 2 other reasons (in the run's manifest)");
    expect(terminal.out).toContain('files: 12 ingested, listed in s3://data/runs/2026-03-09/a/manifest.json');
    expect(terminal.out).not.toContain('2026-03-08');
  });

  it('says what to do next when the stack is not deployed or the input is wrong', async () => {
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
    expect(await runCli(['status', '--region', 'us-east-1'])).toBe(2);
    expect(terminal.err).toMatch(/No state machine named charlie-daily-report.*npx cdk deploy/);
    expect(await runCli(['rerun', '--date', '9 March', '--region', 'us-east-1'])).toBe(2);
    expect(terminal.err).toContain('--date must look like 2026-03-09');
  });

  it('caps a fresh link’s hours as the configuration caps delivery.linkExpiryHours, before asking AWS', async () => {
    for (const hours of ['721', '1e9', 'Infinity', '0', 'soon']) {
      terminal.err = '';
      expect(await runCli(['link', '--date', '2026-03-09', '--hours', hours, '--region', 'us-east-1'])).toBe(2);
      expect(terminal.err).toBe(
        `--hours must be more than 0 and at most 720 (30 days, the most delivery.linkExpiryHours allows), not "${hours}"\n`,
      );
    }
    expect(maxLinkExpiryHours).toBe(720);
    expect(() =>
      parseConfig({ ...loadConfigFile(), delivery: { ...loadConfigFile().delivery, linkExpiryHours: 721 } }),
    ).toThrow('delivery.linkExpiryHours');
  });
});
