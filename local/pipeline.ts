import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { type CollectDeps, collect } from '../functions/collect/collect.ts';
import { collectOutput } from '../functions/collect/manifest.ts';
import type { Config } from '../functions/common/config.ts';
import type {
  BuildInput,
  DeliverInput,
  ExecutionStatusChange,
  IngestResult,
  ManifestEntryInput,
  RunInput,
} from '../functions/common/contracts.ts';
import { asStateError } from '../functions/common/retry.ts';
import { manifestReader } from '../functions/common/run-records.ts';
import { type DeliverDeps, deliver, failureNotice } from '../functions/deliver/deliver.ts';
import { runManifestEntry } from '../functions/ingest/manifest-entry.ts';
import { buildReport } from '../functions/workbook/build.ts';
import {
  type AwsLimitError,
  checkLambdaResponse,
  checkStateData,
  type LargestPayload,
  StatePayloadMeter,
} from './aws-limits.ts';
import type { LocalStack } from './stack.ts';

/** The definition CDK deploys, read from the same file. */
export const definitionPath = new URL('../stepfunctions/charlie.asl.json', import.meta.url);

const functionNames = {
  CollectFunctionArn: 'collect',
  IngestFunctionArn: 'ingest',
  BuildFunctionArn: 'build',
  DeliverFunctionArn: 'deliver',
};

/**
 * The ASL with its CDK substitutions filled in with local function ARNs; `startAt` starts it at
 * another top-level state, as a redrive resumes at the state that failed.
 */
export function localDefinition(startAt?: string): StateMachineDefinition {
  const text = readFileSync(definitionPath, 'utf8').replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const fn = functionNames[name as keyof typeof functionNames];
    if (!fn) throw new Error(`The state machine definition uses an unknown substitution \${${name}}`);
    return `arn:aws:lambda:us-east-1:000000000000:function:charlie-${fn}`;
  });
  const definition = JSON.parse(text) as StateMachineDefinition;
  if (startAt === undefined) return definition;
  if (!(startAt in definition.States)) throw new Error(`The state machine has no top-level state ${startAt}`);
  // The states before it are left out: the engine refuses a definition with unreachable states.
  const states = definition.States as Record<string, TopLevelState>;
  const reachable = new Set<string>();
  const pending = [startAt];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const state = states[name];
    if (reachable.has(name) || !state) continue;
    reachable.add(name);
    pending.push(...[state.Next, state.Default, ...(state.Choices ?? []).map((c) => c.Next)].filter(isString));
  }
  return {
    ...definition,
    StartAt: startAt,
    States: Object.fromEntries(Object.entries(definition.States).filter(([name]) => reachable.has(name))),
  } as StateMachineDefinition;
}

/** The transitions of a top-level state. */
interface TopLevelState {
  Next?: string;
  Default?: string;
  Choices?: { Next?: string }[];
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

type Execution = ReturnType<StateMachine['run']>;
export type ExecutionEvent = Execution['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface PipelineOptions {
  config: Config;
  stack: LocalStack;
  /** The Graph mailbox collect reads; none means only saved mail and the agent inbox. */
  mail: CollectDeps['mail'];
  /** The download links deliver signs: the local link endpoint and its key. */
  links: DeliverDeps['links'];
  input: RunInput;
  executionId?: string;
  now?: () => number;
  /** Told of every state entered, exited, retried or caught, as it happens. */
  onEvent?: (event: ExecutionEvent) => void;
  /** Told of each file ingested, with its counts, as it is. */
  onIngested?: (result: IngestResult) => void;
  /**
   * Redrives a failed execution: the same execution id and input, resumed at the top-level
   * state that failed with the input that state had (`PipelineResult.failedState`); the states
   * before it are not run again. A Map state runs all its iterations again, where AWS reruns
   * only the failed ones: every iteration is idempotent, so the outcome is the same.
   */
  redrive?: { state: string; input: unknown };
}

export interface PipelineResult {
  executionId: string;
  succeeded: boolean;
  output: unknown;
  /** The error the execution failed with (as AWS names it) and its cause. */
  error?: { name: string; message: string };
  /** The top-level state a failed execution stopped at, and its input: what a redrive resumes with. */
  failedState?: { state: string; input: unknown };
  /** The largest state input or output of the execution, Map iterations included. */
  largestPayload: LargestPayload;
}

/**
 * Runs one execution of the workflow: the same definition as in AWS, each Task state
 * mapped to the same function its Lambda handler calls, against the local stack. What AWS
 * enforces and the local engine does not fails the execution as in AWS: state data over
 * 256 KB (States.DataLimitExceeded), Lambda payloads over 6 MB (local/aws-limits.ts).
 */
export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const { config, stack, mail } = options;
  const { s3, dynamodb, sesv2 } = stack.clients;
  const { resources } = stack;
  const now = options.now ?? Date.now;
  const executionId =
    options.executionId ?? `arn:aws:states:us-east-1:000000000000:execution:charlie-local:${randomUUID()}`;

  const clock = () => new Date(now());
  const deliverDeps = { config, s3, sesv2, dynamodb, resources, links: options.links, now: clock };
  const ingestDeps = { config, s3, dynamodb, resources, now: clock };
  const manifests = manifestReader(s3);
  // As the Lambda handlers do (functions/*/index.ts): each iteration's result goes to S3, the state gets null.
  const entry = async (event: ManifestEntryInput) => {
    const outcome = await runManifestEntry(event, { ...ingestDeps, manifests });
    if (outcome.kind === 'ingested') options.onIngested?.(outcome.result);
    return null;
  };
  const handlers = {
    Collect: async (event: { input: RunInput; executionId: string }) =>
      collectOutput(s3, resources.dataBucket, await collect(event, { config, s3, resources, mail, now })),
    Ingest: entry,
    Remove: entry,
    Build: (event: BuildInput) => buildReport(event, ingestDeps),
    Deliver: (input: DeliverInput) => deliver(input, deliverDeps),
  };

  // What the event log shows over Step Functions' limit fails the execution; tasks wait until it has been read.
  const meter = new StatePayloadMeter();
  let overLimit: { error: AwsLimitError; failedState: { state: string; input: unknown } | undefined } | undefined;
  const limitChecked = async () => {
    // The engine logs synchronously and the log is read in microtasks: a macrotask later, all of it has been.
    await new Promise((resolve) => setImmediate(resolve));
    if (overLimit) throw overLimit.error;
  };

  // As in Lambda (stageHandler), a transient AWS error leaves a stage as TransientError.
  const tasks = Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      async (event: never) => {
        await limitChecked();
        checkStateData(state, 'was given an input', event);
        let result: unknown;
        try {
          result = await handler(event);
        } catch (error) {
          throw asStateError(error);
        }
        checkLambdaResponse(state, result);
        checkStateData(state, 'returned a result', result);
        return result;
      },
    ]),
  );

  const machine = new StateMachine(localDefinition(options.redrive?.state));
  const startInput = options.redrive ? options.redrive.input : options.input;
  const execution = machine.run(startInput as Record<string, never>, {
    overrides: {
      taskResourceLocalHandlers: tasks as unknown as Record<string, (input: unknown) => Promise<never>>,
      // The definition's Retry intervals are seconds; locally a retry need not wait that long.
      retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((state) => [state, 10])),
    },
    context: {
      Execution: {
        Id: executionId,
        Name: executionId.split(':').pop() ?? executionId,
        Input: options.input as Record<string, never>,
        StartTime: new Date(now()).toISOString(),
      },
    },
  });

  // The last top-level state entered is where a failure stops the execution (no state catches).
  let current: { state: string; input: unknown } | undefined;
  const events = (async () => {
    for await (const event of execution.eventLogs) {
      if (overLimit) continue;
      if (event.type === 'StateEntered' && event.index === undefined) {
        current = { state: event.state.name, input: event.state.input };
      }
      const error = meter.measure(event);
      if (error) {
        overLimit = { error, failedState: current };
        execution.abort();
        continue;
      }
      options.onEvent?.(event);
    }
  })();
  const startedAt = now();
  const ended = await execution.result.then(
    (output) => ({ output }),
    (error: unknown) => ({ error }),
  );
  await events.catch(() => undefined);
  // The last state's output is read after the engine has finished: over the limit, the execution still fails.
  if ('output' in ended && !overLimit) {
    return { executionId, succeeded: true, output: ended.output, largestPayload: meter.largest };
  }
  const error = 'error' in ended ? ended.error : undefined;
  if (!overLimit && !(error instanceof ExecutionError)) throw error;
  // The stage's error, as the execution's error and cause in AWS.
  const stageError =
    overLimit?.error ??
    (error instanceof ExecutionError && error.cause instanceof Error ? error.cause : (error as Error));
  const failedState = overLimit ? overLimit.failedState : current;
  // As in AWS: EventBridge reports the failed execution, and deliver mails the admins.
  await deliver(
    failureNotice(
      statusChange({
        executionId,
        input: options.input,
        startedAt,
        stoppedAt: now(),
        error: stageError.name,
        cause: stageError.message,
      }),
    ),
    deliverDeps,
  );
  return {
    executionId,
    succeeded: false,
    output: undefined,
    error: { name: stageError.name, message: stageError.message },
    ...(failedState ? { failedState } : {}),
    largestPayload: meter.largest,
  };
}

/** The "Step Functions Execution Status Change" event EventBridge sends when an execution fails. */
function statusChange(failed: {
  executionId: string;
  input: RunInput;
  startedAt: number;
  stoppedAt: number;
  error: string;
  cause: string;
}): ExecutionStatusChange {
  const [, , , region = 'us-east-1', account = '000000000000', , machine = 'charlie', name = ''] =
    failed.executionId.split(':');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account,
    time: new Date(failed.stoppedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [failed.executionId],
    detail: {
      executionArn: failed.executionId,
      stateMachineArn: `arn:aws:states:${region}:${account}:stateMachine:${machine}`,
      name,
      status: 'FAILED',
      startDate: failed.startedAt,
      stopDate: failed.stoppedAt,
      input: JSON.stringify(failed.input),
      output: null,
      inputDetails: { included: true },
      outputDetails: null,
      error: failed.error,
      cause: failed.cause,
    },
  };
}
