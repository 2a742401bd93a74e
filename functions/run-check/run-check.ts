import { type ExecutionStatus, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';

/** What a schedule's check is started with: its own scheduled instant, and how long after the run's. */
export interface RunCheckInput {
  /** The check's scheduled instant (ISO), from Scheduler's `<aws.scheduler.scheduled-time>`. */
  scheduledTime: string;
  /** Minutes between the run's scheduled time and its check. */
  afterMinutes: number;
}

/** The executions started since a run was due, by what became of them. */
export interface RunCheck {
  /** The run's scheduled instant (ISO). */
  expectedAt: string;
  started: number;
  succeeded: number;
  running: number;
  /** Failed, timed out, aborted or waiting for a redrive: each also raised `RunFailed`. */
  failed: number;
  /** No execution started since the run was due has succeeded. */
  late: boolean;
}

/** A scheduled run may start a little before its minute (Scheduler's flexible window is off, clocks are not). */
const earlyStartMs = 60_000;

/**
 * Whether the run due `afterMinutes` before this check has happened: some execution of the
 * state machine started since then has succeeded. Any execution counts, a rerun from the
 * console or the CLI as well as the scheduled one, since what the admins need to know is
 * that no report has been made. ListExecutions returns the newest first: pages are read
 * until one reaches back past the due time.
 */
export async function checkRun(sfn: SFNClient, stateMachineArn: string, input: RunCheckInput): Promise<RunCheck> {
  const scheduled = Date.parse(input.scheduledTime);
  if (Number.isNaN(scheduled) || !Number.isFinite(input.afterMinutes) || input.afterMinutes < 0) {
    throw new Error(
      `A run check needs {"scheduledTime": ISO instant, "afterMinutes": minutes ≥ 0}; got ${JSON.stringify(input)}`,
    );
  }
  const expectedAt = scheduled - input.afterMinutes * 60_000;
  const statuses: ExecutionStatus[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100, nextToken }));
    nextToken = page.nextToken;
    for (const execution of page.executions ?? []) {
      if ((execution.startDate?.getTime() ?? 0) < expectedAt - earlyStartMs) {
        nextToken = undefined;
        break;
      }
      if (execution.status) statuses.push(execution.status);
    }
  } while (nextToken);
  const count = (...wanted: ExecutionStatus[]) => statuses.filter((status) => wanted.includes(status)).length;
  const succeeded = count('SUCCEEDED');
  return {
    expectedAt: new Date(expectedAt).toISOString(),
    started: statuses.length,
    succeeded,
    running: count('RUNNING'),
    failed: count('FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'),
    late: succeeded === 0,
  };
}
