import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Context } from 'aws-lambda';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { type CollectStageDeps, collectStage } from '../functions/collect/stage.ts';
import type { Config } from '../functions/common/config.ts';
import type { ExecutionStatusChange, RunInput } from '../functions/common/contracts.ts';
import { stageHandler } from '../functions/common/handler.ts';
import { metrics } from '../functions/common/observability.ts';
import { manifestReader } from '../functions/common/run-records.ts';
import type { DeliverDeps } from '../functions/deliver/deliver.ts';
import { deliverStage } from '../functions/deliver/stage.ts';
import { ingestStage } from '../functions/ingest/stage.ts';
import { STAGES, type StageKey, stageOfSubstitution } from '../functions/stages.ts';
import { workbookStage } from '../functions/workbook/stage.ts';
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

/** A stage's function as the local definition names it. */
export function localFunctionArn(stage: StageKey): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:charlie-${stage}`;
}

/**
 * The ASL with its CDK substitutions filled in with local function ARNs; `startAt` starts it at
 * another top-level state, as a redrive resumes at the state that failed.
 */
export function localDefinition(startAt?: string): StateMachineDefinition {
  const text = readFileSync(definitionPath, 'utf8').replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const stage = stageOfSubstitution(name);
    if (!stage) throw new Error(`The state machine definition uses a substitution no stage fills: \${${name}}`);
    return localFunctionArn(stage);
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

/** A state of the definition, as far as tasks and Map item processors go. */
interface DefinitionState {
  Type: string;
  Resource?: string;
  ItemProcessor?: { States: Record<string, DefinitionState> };
  Iterator?: { States: Record<string, DefinitionState> };
}

/** Each Task state of a local definition, Map item processors included, and the stage its function is. */
export function taskStages(definition: StateMachineDefinition): Map<string, StageKey> {
  const tasks = new Map<string, StageKey>();
  const visit = (states: Record<string, DefinitionState>) => {
    for (const [name, state] of Object.entries(states)) {
      const stage = (Object.keys(STAGES) as StageKey[]).find((key) => state.Resource === localFunctionArn(key));
      if (state.Type === 'Task' && stage) tasks.set(name, stage);
      const inner = state.ItemProcessor ?? state.Iterator;
      if (inner) visit(inner.States);
    }
  };
  visit(definition.States as Record<string, DefinitionState>);
  return tasks;
}

/** What the local stages are built from: the emulators' clients instead of the environment's. */
export interface LocalStageDeps {
  config: Config;
  stack: LocalStack;
  /** The Graph mailbox collect reads. */
  mail: CollectStageDeps['mail'];
  /** The download links deliver signs: the local link endpoint and its key. */
  links: DeliverDeps['links'];
  /** Copies the workbook to the fake SharePoint, when configured. */
  sharepoint?: DeliverDeps['sharepoint'];
  /** Where deliver posts Teams cards, when the configuration has `teams` (local/teams-receiver.ts). */
  teams?: DeliverDeps['teams'];
  now: () => number;
}

/** A Lambda handler as the local runner invokes it. */
export type LocalHandler = (event: never, context: Context) => Promise<unknown>;

/**
 * Each stage's Lambda handler on the local stack: the wrapper Lambda runs (stageHandler: error
 * names, the run's keys on every log line, metrics flushed after each invocation) around the
 * same stage, given the emulators' clients and the run's clock. Lambda gives each of a Map's
 * concurrent iterations an environment of its own; here they share the process's logger, so a
 * log line of one ingest may carry another's request id, or lose the run's keys when another
 * ends first (each flushes its own metrics).
 */
export const localStages: { readonly [K in StageKey]: (deps: LocalStageDeps) => LocalHandler } = {
  collect: ({ config, stack, mail, now }) =>
    stageHandler(collectStage({ config, s3: stack.clients.s3, resources: stack.resources, mail, now })),
  ingest: ({ config, stack, now }) =>
    stageHandler(
      ingestStage({
        config,
        s3: stack.clients.s3,
        dynamodb: stack.clients.dynamodb,
        resources: stack.resources,
        manifests: manifestReader(stack.clients.s3),
        now: () => new Date(now()),
      }),
    ),
  workbook: ({ config, stack, now }) =>
    stageHandler(
      workbookStage({
        config,
        s3: stack.clients.s3,
        dynamodb: stack.clients.dynamodb,
        resources: stack.resources,
        now: () => new Date(now()),
      }),
    ),
  deliver: ({ config, stack, links, sharepoint, teams, now }) =>
    stageHandler(
      deliverStage({
        config,
        s3: stack.clients.s3,
        sesv2: stack.clients.sesv2,
        dynamodb: stack.clients.dynamodb,
        resources: stack.resources,
        links,
        ...(sharepoint ? { sharepoint } : {}),
        ...(teams ? { teams } : {}),
        now: () => new Date(now()),
      }),
    ),
};

/**
 * The Lambda context of one local invocation: what the wrapper's middlewares read (Powertools'
 * logger and metrics, middy's early timeout) and the time left by the stage's timeout.
 */
export function invocationContext(stage: StageKey): Context {
  const functionName = `charlie-${stage}`;
  const awsRequestId = randomUUID();
  const stopsAt = Date.now() + STAGES[stage].timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: localFunctionArn(stage),
    memoryLimitInMB: String(STAGES[stage].memoryMiB),
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${awsRequestId}`,
    getRemainingTimeInMillis: () => Math.max(0, stopsAt - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** One CloudWatch embedded metric format (EMF) line, as a stage's invocation flushed it. */
export type EmfRecord = Record<string, unknown> & {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
};

/** Collects the EMF lines the stages flush, which in Lambda would go to the function's log. */
function metricsSink(records: EmfRecord[], onRecord?: (record: EmfRecord) => void): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) {
        if (!line.trim()) continue;
        const record = JSON.parse(line) as EmfRecord;
        records.push(record);
        onRecord?.(record);
      }
      done();
    },
  });
}

type Execution = ReturnType<StateMachine['run']>;
export type ExecutionEvent = Execution['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** What the stages are built from (the mailbox none: only saved mail and the agent inbox), and the run. */
export interface PipelineOptions extends Omit<LocalStageDeps, 'now'> {
  input: RunInput;
  executionId?: string;
  now?: () => number;
  /** Told of every state entered, exited, retried or caught, as it happens. */
  onEvent?: (event: ExecutionEvent) => void;
  /** Told of each stage's metrics as its invocation flushes them (one EMF line). */
  onMetrics?: (record: EmfRecord) => void;
  /**
   * Redrives a failed execution: the same execution id and input, resumed at the top-level
   * state that failed with the input that state had (`PipelineResult.failedState`); the states
   * before it are not run again. A Map state runs all its iterations again, where AWS reruns
   * only the failed ones: every iteration is idempotent, so the outcome is the same.
   */
  redrive?: { state: string; input: unknown };
  /** Aborted, the execution stops as StopExecution stops it in AWS: runPipeline rejects. */
  signal?: AbortSignal;
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
  /** The metrics the stages flushed, one EMF line per invocation (and the cold start's), in order. */
  metrics: EmfRecord[];
}

/**
 * Runs one execution of the workflow: the same definition as in AWS, each Task state
 * mapped to the same function its Lambda handler calls, against the local stack. What AWS
 * enforces and the local engine does not fails the execution as in AWS: state data over
 * 256 KB (States.DataLimitExceeded), Lambda payloads over 6 MB (local/aws-limits.ts).
 */
export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const { config, stack, mail } = options;
  const now = options.now ?? Date.now;
  const executionId =
    options.executionId ?? `arn:aws:states:us-east-1:000000000000:execution:charlie-local:${randomUUID()}`;

  // The stages' metrics go to this run's records, as in Lambda they go to the function's log.
  const emitted: EmfRecord[] = [];
  metrics.writeTo(metricsSink(emitted, options.onMetrics));
  const deps = {
    config,
    stack,
    mail,
    links: options.links,
    ...(options.sharepoint ? { sharepoint: options.sharepoint } : {}),
    ...(options.teams ? { teams: options.teams } : {}),
    now,
  };
  const handlers = {
    collect: localStages.collect(deps),
    ingest: localStages.ingest(deps),
    workbook: localStages.workbook(deps),
    deliver: localStages.deliver(deps),
  };

  // What the event log shows over Step Functions' limit fails the execution; tasks wait until it has been read.
  const meter = new StatePayloadMeter();
  let overLimit: { error: AwsLimitError; failedState: { state: string; input: unknown } | undefined } | undefined;
  const limitChecked = async () => {
    // The engine logs synchronously and the log is read in microtasks: a macrotask later, all of it has been.
    await new Promise((resolve) => setImmediate(resolve));
    if (overLimit) throw overLimit.error;
  };

  const definition = localDefinition(options.redrive?.state);
  const stagesOfTasks = [...taskStages(definition)];
  const tasks = Object.fromEntries(
    stagesOfTasks.map(([state, stage]) => [
      state,
      async (event: never) => {
        await limitChecked();
        checkStateData(state, 'was given an input', event);
        const result = await handlers[stage](event, invocationContext(stage));
        checkLambdaResponse(state, result);
        checkStateData(state, 'returned a result', result);
        return result;
      },
    ]),
  );

  const machine = new StateMachine(definition);
  const startInput = options.redrive ? options.redrive.input : options.input;
  const execution = machine.run(startInput as Record<string, never>, {
    overrides: {
      taskResourceLocalHandlers: tasks as unknown as Record<string, (input: unknown) => Promise<never>>,
      // The definition's Retry intervals are seconds; locally a retry need not wait that long.
      retryIntervalOverrides: Object.fromEntries(stagesOfTasks.map(([state]) => [state, 10])),
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

  if (options.signal?.aborted) execution.abort();
  else options.signal?.addEventListener('abort', () => execution.abort(), { once: true });

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
    return { executionId, succeeded: true, output: ended.output, largestPayload: meter.largest, metrics: emitted };
  }
  const error = 'error' in ended ? ended.error : undefined;
  if (!overLimit && !(error instanceof ExecutionError)) throw error;
  // The stage's error, as the execution's error and cause in AWS.
  const stageError =
    overLimit?.error ??
    (error instanceof ExecutionError && error.cause instanceof Error ? error.cause : (error as Error));
  const failedState = overLimit ? overLimit.failedState : current;
  // As in AWS: EventBridge reports the failed execution to the deliver function, which mails the admins.
  await handlers.deliver(
    statusChange({
      executionId,
      input: options.input,
      startedAt,
      stoppedAt: now(),
      error: stageError.name,
      cause: stageError.message,
    }) as never,
    invocationContext('deliver'),
  );
  return {
    executionId,
    succeeded: false,
    output: undefined,
    error: { name: stageError.name, message: stageError.message },
    ...(failedState ? { failedState } : {}),
    largestPayload: meter.largest,
    metrics: emitted,
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
