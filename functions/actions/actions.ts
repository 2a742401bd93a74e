import type { RunInput } from '../common/contracts.ts';
import { CharlieError } from '../common/errors.ts';
import { rawKeyParts } from '../common/keys.ts';
import { isDate } from '../common/time.ts';
import type { ExecutionControl, ExecutionView } from './executions.ts';

/**
 * The operator's actions on the state machine — rerun, undo, resend, cancel, redrive — as the
 * `charlie` CLI and the console's API both run them: the input each starts an execution with,
 * what each refuses, and the call it makes.
 */

/** Why an action was refused: `invalid` (the request is wrong), `unknown` (no such execution), `conflict` (not now). */
export class ActionError extends CharlieError {
  override name = 'ActionError';
  constructor(
    readonly kind: 'invalid' | 'unknown' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

export interface RerunOptions {
  reports?: string[];
  force?: boolean;
  /** `false` builds without emailing. */
  deliver?: boolean;
  /** Quarantined inputs to read again (source ids, or `all`). */
  release?: string[];
}

/** The input that rebuilds a day: collect, ingest, build and (unless `deliver` is false) deliver. */
export function rerunInput(date: string, options: RerunOptions): RunInput {
  requireDate(date);
  return {
    date,
    ...(options.reports?.length ? { reports: options.reports } : {}),
    ...(options.force ? { force: true } : {}),
    ...(options.deliver === false ? { deliver: false } : {}),
    ...(options.release?.length ? { release: options.release } : {}),
  };
}

/**
 * The input that takes files out of a day: raw keys (`raw/<date>/<type>/<sha256>.csv`), or
 * message ids (every file of that email, which needs the day). Every file must be of the one day.
 */
export function undoInput(sources: readonly string[], options: { date?: string; force?: boolean }): RunInput {
  if (sources.length === 0)
    throw new ActionError('invalid', 'undo needs a source: raw/<date>/<type>/<sha256>.csv or a message id');
  if (options.date !== undefined) requireDate(options.date);
  const keyDates = sources.flatMap((source) => rawKeyParts(source)?.date ?? []);
  const date = options.date ?? keyDates[0];
  if (!date)
    throw new ActionError('invalid', 'undo by message id needs --date YYYY-MM-DD: the day the email belongs to');
  const other = keyDates.find((d) => d !== date);
  if (other) {
    throw new ActionError(
      'invalid',
      `undo: every file must belong to ${date}; ${other} is another day (undo once per day)`,
    );
  }
  return { date, undo: [...sources], ...(options.force ? { force: true } : {}) };
}

/** The input that emails a day's report again: the day rebuilt from what is stored, and sent even though it was. */
export function resendInput(date: string): RunInput {
  requireDate(date);
  return { date, deliver: true };
}

/** Starts an execution named after the action, the day and the time, so that the console lists what it was. */
export function startRun(control: ExecutionControl, input: RunInput, action: string, now: number): Promise<string> {
  return control.start(input, `${action}-${input.date}-${now}`);
}

/** Stops a running execution. */
export async function cancelRun(control: ExecutionControl, executionId: string): Promise<ExecutionView> {
  const execution = await existing(control, executionId);
  if (execution.status !== 'RUNNING') {
    throw new ActionError(
      'conflict',
      `Execution ${execution.name} is ${execution.status}: only a running one can be cancelled`,
    );
  }
  await control.stop(execution.executionId);
  return execution;
}

/** Resumes a failed (or timed-out, or stopped) execution at the state it stopped at. */
export async function redriveRun(control: ExecutionControl, executionId: string): Promise<ExecutionView> {
  const execution = await existing(control, executionId);
  if (execution.status === 'RUNNING' || execution.status === 'SUCCEEDED') {
    throw new ActionError(
      'conflict',
      `Execution ${execution.name} is ${execution.status}: only a failed one can be redriven`,
    );
  }
  await control.redrive(execution.executionId);
  return execution;
}

async function existing(control: ExecutionControl, executionId: string): Promise<ExecutionView> {
  const execution = await control.describe(executionId);
  if (!execution) throw new ActionError('unknown', `No execution ${executionId}`);
  return execution;
}

function requireDate(date: string): void {
  if (!isDate(date)) throw new ActionError('invalid', `The date must look like 2026-03-09, not "${date}"`);
}
