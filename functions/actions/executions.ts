import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { RunInput } from '../common/contracts.ts';

/** An execution's state; Step Functions' PENDING_REDRIVE (a redrive starting) reads as RUNNING. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** An execution of the state machine as the actions and the console read it. */
export interface ExecutionView {
  executionId: string;
  name: string;
  status: ExecutionStatus;
  startedAt: string;
  stoppedAt?: string;
  input?: RunInput;
  output?: unknown;
  error?: string;
  cause?: string;
  /** The state a failed execution stopped at, where it is known. */
  failedStage?: string;
}

/**
 * What the actions ask of the state machine: Step Functions in AWS (stepFunctionsControl),
 * the local runner on the local stack (local/console/executions.ts).
 */
export interface ExecutionControl {
  /** Starts an execution; its id. */
  start(input: RunInput, name: string): Promise<string>;
  /** The execution, or undefined when there is none by that id. */
  describe(executionId: string): Promise<ExecutionView | undefined>;
  /** The executions running now. */
  running(): Promise<ExecutionView[]>;
  /** The latest executions (of a status), newest first, at most `limit`. */
  latest(limit: number, status?: ExecutionStatus): Promise<ExecutionView[]>;
  stop(executionId: string): Promise<void>;
  /** Resumes a failed execution at the state that failed. */
  redrive(executionId: string): Promise<void>;
  /** The execution in the AWS console, where there is one. */
  consoleUrl(executionId: string): string | undefined;
}

/** The execution ARN of a name on a state machine (`…:stateMachine:<machine>` → `…:execution:<machine>:<name>`). */
export function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** Step Functions as the actions use it. */
export function stepFunctionsControl(sfn: SFNClient, stateMachineArn: string): ExecutionControl {
  const region = stateMachineArn.split(':')[3] ?? 'us-east-1';
  const view = async (executionArn: string): Promise<ExecutionView | undefined> => {
    let described: DescribeExecutionCommandOutput;
    try {
      described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'ExecutionDoesNotExist' || name === 'InvalidArn') return undefined;
      throw error;
    }
    const failedStage = described.status === 'FAILED' ? await lastStateEntered(sfn, executionArn) : undefined;
    return {
      executionId: described.executionArn ?? executionArn,
      name: described.name ?? executionArn.split(':').pop() ?? executionArn,
      status: !described.status || described.status === 'PENDING_REDRIVE' ? 'RUNNING' : described.status,
      startedAt: (described.startDate ?? new Date(0)).toISOString(),
      ...(described.stopDate ? { stoppedAt: described.stopDate.toISOString() } : {}),
      ...(described.input ? { input: JSON.parse(described.input) as RunInput } : {}),
      ...(described.output ? { output: JSON.parse(described.output) as unknown } : {}),
      ...(described.error ? { error: described.error } : {}),
      ...(described.cause ? { cause: described.cause } : {}),
      ...(failedStage ? { failedStage } : {}),
    };
  };
  const list = async (options: { statusFilter?: ExecutionStatus; maxResults: number }) => {
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn, ...options }));
    const views = await Promise.all((listed.executions ?? []).map((e) => view(e.executionArn as string)));
    return views.filter((v): v is ExecutionView => v !== undefined);
  };
  return {
    async start(input, name) {
      const started = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return started.executionArn as string;
    },
    describe: view,
    running: () => list({ statusFilter: 'RUNNING', maxResults: 20 }),
    latest: (limit, status) => list({ maxResults: limit, ...(status ? { statusFilter: status } : {}) }),
    async stop(executionArn) {
      await sfn.send(new StopExecutionCommand({ executionArn, error: 'Stopped', cause: 'Cancelled from the console' }));
    },
    async redrive(executionArn) {
      await sfn.send(new RedriveExecutionCommand({ executionArn }));
    },
    consoleUrl: (executionArn) =>
      `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`,
  };
}

/** The state a failed execution was in: the last state entered, from the end of its history. */
async function lastStateEntered(sfn: SFNClient, executionArn: string): Promise<string | undefined> {
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 50 }));
  return history.events?.find((event) => event.stateEnteredEventDetails?.name)?.stateEnteredEventDetails?.name;
}
