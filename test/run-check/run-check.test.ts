import { type ExecutionListItem, type ExecutionStatus, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkRun } from '../../functions/run-check/run-check.ts';

const sfn = mockClient(SFNClient);
const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:charlie-daily-report';

function execution(startDate: string, status: ExecutionStatus, n = 0): ExecutionListItem {
  return {
    executionArn: `${arn.replace('stateMachine', 'execution')}:${n}`,
    stateMachineArn: arn,
    name: `run-${n}`,
    status,
    startDate: new Date(startDate),
  };
}

/** Answers ListExecutions newest first, `pageSize` at a time, as Step Functions does. */
function listing(executions: ExecutionListItem[], pageSize = 100) {
  sfn.on(ListExecutionsCommand).callsFake((input: { nextToken?: string }) => {
    const from = Number(input.nextToken ?? 0);
    const page = executions.slice(from, from + pageSize);
    const next = from + pageSize < executions.length ? String(from + pageSize) : undefined;
    return { executions: page, ...(next ? { nextToken: next } : {}) };
  });
}

// The daily run at 06:00 Chicago (12:00 UTC in winter), checked an hour later.
const check = { scheduledTime: '2026-12-01T13:00:00Z', afterMinutes: 60 };

describe('checkRun', () => {
  beforeEach(() => sfn.reset());

  it('is content with a run started after its time that succeeded', async () => {
    listing([execution('2026-12-01T12:00:03Z', 'SUCCEEDED'), execution('2026-11-30T12:00:02Z', 'SUCCEEDED')]);
    const result = await checkRun(sfn as unknown as SFNClient, arn, check);
    expect(result).toEqual({
      expectedAt: '2026-12-01T12:00:00.000Z',
      started: 1,
      succeeded: 1,
      running: 0,
      failed: 0,
      late: false,
    });
    expect(sfn.commandCalls(ListExecutionsCommand)[0]?.args[0].input.stateMachineArn).toBe(arn);
  });

  it('reports the run late when none has started since, whatever succeeded the day before', async () => {
    listing([execution('2026-11-30T12:00:02Z', 'SUCCEEDED')]);
    expect(await checkRun(sfn as unknown as SFNClient, arn, check)).toMatchObject({ started: 0, late: true });
  });

  it('reports it late when the run since failed or is still running, and counts them', async () => {
    listing([
      execution('2026-12-01T12:40:00Z', 'RUNNING', 2),
      execution('2026-12-01T12:00:01Z', 'FAILED', 1),
      execution('2026-11-30T12:00:02Z', 'SUCCEEDED', 0),
    ]);
    expect(await checkRun(sfn as unknown as SFNClient, arn, check)).toMatchObject({
      started: 2,
      succeeded: 0,
      running: 1,
      failed: 1,
      late: true,
    });
  });

  it('counts a rerun that succeeded after a failure, and a start a few seconds early', async () => {
    listing([execution('2026-12-01T12:30:00Z', 'SUCCEEDED', 2), execution('2026-12-01T11:59:58Z', 'FAILED', 1)]);
    expect(await checkRun(sfn as unknown as SFNClient, arn, check)).toMatchObject({
      started: 2,
      succeeded: 1,
      failed: 1,
      late: false,
    });
  });

  it('reads further pages until one reaches back past the due time, and no further', async () => {
    const executions = [
      ...Array.from({ length: 5 }, (_, i) => execution(`2026-12-01T12:5${i}:00Z`, 'FAILED', 10 + i)).reverse(),
      execution('2026-12-01T12:01:00Z', 'SUCCEEDED', 9),
      ...Array.from({ length: 6 }, (_, i) => execution(`2026-11-2${i}T12:00:00Z`, 'SUCCEEDED', i)).reverse(),
    ];
    listing(executions, 2);
    expect(await checkRun(sfn as unknown as SFNClient, arn, check)).toMatchObject({
      started: 6,
      succeeded: 1,
      failed: 5,
      late: false,
    });
    // Pages of two: the fourth holds the first execution before the due time; the rest are not read.
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(4);
  });

  it('refuses an input that is not a scheduled check, saying what it needs', async () => {
    await expect(
      checkRun(sfn as unknown as SFNClient, arn, { scheduledTime: 'yesterday', afterMinutes: 60 }),
    ).rejects.toThrow(/scheduledTime.*ISO instant/);
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(0);
  });
});
