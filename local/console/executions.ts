import type { ExecutionControl, ExecutionView } from '../../functions/actions/executions.ts';
import type { Config } from '../../functions/common/config.ts';
import type { RunInput } from '../../functions/common/contracts.ts';
import { executionDate } from '../../functions/console-api/days.ts';
import type { DeliverDeps } from '../../functions/deliver/deliver.ts';
import type { ExecutionRecord, ExecutionRecords } from '../kept.ts';
import { type PipelineOptions, runPipeline } from '../pipeline.ts';
import type { LocalStack } from '../stack.ts';

/** The mail a run of a day collects, and how to stop serving it. */
export type MailForDay = (date: string) => Promise<{ mail: PipelineOptions['mail']; stop: () => Promise<void> }>;

export interface LocalExecutionsOptions {
  config: Config;
  stack: LocalStack;
  links: DeliverDeps['links'];
  records: ExecutionRecords;
  mailFor: MailForDay;
  now?: () => number;
}

/**
 * Step Functions as the console's actions see it, on the local stack: an execution started runs
 * the state machine in this process (local/pipeline.ts) while the request returns; it is
 * recorded as the local runs record theirs, stopped by aborting it, and redriven at the state
 * that failed.
 */
export function localExecutions(options: LocalExecutionsOptions): ExecutionControl & { settled(): Promise<void> } {
  const now = options.now ?? Date.now;
  const inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  const find = (idOrName: string) =>
    options.records.executions().find((record) => record.executionId === idOrName || record.name === idOrName);

  const run = (record: ExecutionRecord, redrive?: ExecutionRecord['failedState']) => {
    const abort = new AbortController();
    const date = executionDate(view(record), options.config.timeZone) ?? (record.input.date as string);
    const done = (async () => {
      const served = await options.mailFor(date);
      try {
        const result = await runPipeline({
          config: options.config,
          stack: options.stack,
          mail: served.mail,
          links: options.links,
          input: record.input,
          executionId: record.executionId,
          now,
          signal: abort.signal,
          ...(redrive ? { redrive } : {}),
        });
        const { failedState: _, error: __, output: ___, ...kept } = record;
        options.records.saveExecution({
          ...kept,
          status: result.succeeded ? 'SUCCEEDED' : 'FAILED',
          stoppedAt: new Date(now()).toISOString(),
          ...(result.succeeded ? { output: result.output } : {}),
          ...(result.error ? { error: result.error } : {}),
          ...(result.failedState ? { failedState: result.failedState } : {}),
        });
      } catch (error) {
        options.records.saveExecution({
          ...record,
          status: abort.signal.aborted ? 'ABORTED' : 'FAILED',
          stoppedAt: new Date(now()).toISOString(),
          error: abort.signal.aborted
            ? { name: 'Stopped', message: 'Cancelled from the console' }
            : { name: (error as Error).name, message: (error as Error).message },
        });
      } finally {
        await served.stop();
        inFlight.delete(record.executionId);
      }
    })();
    inFlight.set(record.executionId, { abort, done });
  };

  return {
    async start(input: RunInput, name: string) {
      if (find(name))
        throw Object.assign(new Error(`Execution ${name} already exists`), { name: 'ExecutionAlreadyExists' });
      const record: ExecutionRecord = {
        executionId: `arn:aws:states:us-east-1:000000000000:execution:charlie-local:${name}`,
        name,
        input,
        status: 'RUNNING',
        startedAt: new Date(now()).toISOString(),
      };
      options.records.saveExecution(record);
      run(record);
      return record.executionId;
    },
    async describe(idOrName) {
      const record = find(idOrName);
      return record && view(record);
    },
    async running() {
      return options.records
        .executions()
        .filter((record) => record.status === 'RUNNING')
        .map(view);
    },
    async latest(limit, status) {
      return options.records
        .executions()
        .filter((record) => !status || record.status === status)
        .slice(0, limit)
        .map(view);
    },
    async stop(executionId) {
      const flight = inFlight.get(executionId);
      if (flight) {
        flight.abort.abort();
        await flight.done;
        return;
      }
      // Recorded as running by a process that is gone: nothing runs it, so it is stopped where it stands.
      const record = find(executionId);
      if (record?.status === 'RUNNING') {
        options.records.saveExecution({ ...record, status: 'ABORTED', stoppedAt: new Date(now()).toISOString() });
      }
    },
    async redrive(executionId) {
      const record = find(executionId);
      if (!record?.failedState) {
        throw Object.assign(new Error(`Execution ${executionId} has no failed state to resume at`), {
          name: 'ExecutionNotRedrivable',
        });
      }
      const { stoppedAt: _, error: __, ...again } = record;
      const running: ExecutionRecord = { ...again, status: 'RUNNING' };
      options.records.saveExecution(running);
      run(running, record.failedState);
    },
    consoleUrl: () => undefined,
    async settled() {
      await Promise.all([...inFlight.values()].map((flight) => flight.done));
    },
  };
}

function view(record: ExecutionRecord): ExecutionView {
  return {
    executionId: record.executionId,
    name: record.name,
    status: record.status,
    startedAt: record.startedAt,
    ...(record.stoppedAt ? { stoppedAt: record.stoppedAt } : {}),
    input: record.input,
    ...(record.output !== undefined ? { output: record.output } : {}),
    ...(record.error ? { error: record.error.name, cause: record.error.message } : {}),
    ...(record.status === 'FAILED' && record.failedState ? { failedStage: record.failedState.state } : {}),
  };
}
