import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildReport } from '../functions/build/build.ts';
import { type CollectDeps, collect } from '../functions/collect/collect.ts';
import { type DeliverDeps, deliver } from '../functions/deliver/deliver.ts';
import { ingestFile } from '../functions/ingest/ingest.ts';
import { removeFileRows } from '../functions/ingest/remove.ts';
import type { Config } from '../functions/shared/config.ts';
import type { BuildInput, DeliverInput, FailureInput, IngestInput, RunInput } from '../functions/shared/contracts.ts';
import { asStateError } from '../functions/shared/retry.ts';
import type { LocalStack } from './stack.ts';

/** The definition CDK deploys, read from the same file. */
export const definitionPath = new URL('../stepfunctions/charlie.asl.json', import.meta.url);

const functionNames = {
  CollectFunctionArn: 'collect',
  IngestFunctionArn: 'ingest',
  BuildFunctionArn: 'build',
  DeliverFunctionArn: 'deliver',
};

/** The ASL with its CDK substitutions filled in with local function ARNs. */
export function localDefinition(): StateMachineDefinition {
  const text = readFileSync(definitionPath, 'utf8').replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const fn = functionNames[name as keyof typeof functionNames];
    if (!fn) throw new Error(`The state machine definition uses an unknown substitution \${${name}}`);
    return `arn:aws:lambda:us-east-1:000000000000:function:charlie-${fn}`;
  });
  return JSON.parse(text) as StateMachineDefinition;
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
}

export interface PipelineResult {
  executionId: string;
  succeeded: boolean;
  output: unknown;
  error?: { name: string; message: string };
}

/**
 * Runs one execution of the workflow: the same definition as in AWS, each Task state
 * mapped to the same function its Lambda handler calls, against the local stack.
 */
export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const { config, stack, mail } = options;
  const { s3, dynamodb, sesv2 } = stack.clients;
  const { resources } = stack;
  const now = options.now ?? Date.now;
  const executionId =
    options.executionId ?? `arn:aws:states:us-east-1:000000000000:execution:charlie-local:${randomUUID()}`;

  const deliverOrNotify = (input: DeliverInput | FailureInput) =>
    deliver(input, { config, s3, sesv2, dynamodb, resources, links: options.links, now: () => new Date(now()) });
  const handlers = {
    Collect: (event: { input: RunInput; executionId: string }) => collect(event, { config, s3, resources, mail, now }),
    Ingest: (event: IngestInput) => ingestFile(event, { config, s3, dynamodb, resources, now: () => new Date(now()) }),
    Remove: (event: IngestInput) =>
      removeFileRows(event, { config, s3, dynamodb, resources, now: () => new Date(now()) }),
    Build: (event: BuildInput) => buildReport(event, { config, s3, dynamodb, resources, now: () => new Date(now()) }),
    Deliver: deliverOrNotify,
    NotifyFailure: deliverOrNotify,
  };

  // As in Lambda (stageHandler), a transient AWS error leaves a stage as TransientError.
  const tasks = Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      async (event: never) => {
        try {
          return await handler(event);
        } catch (error) {
          throw asStateError(error);
        }
      },
    ]),
  );

  const machine = new StateMachine(localDefinition());
  const execution = machine.run(options.input as Record<string, never>, {
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

  const events = (async () => {
    for await (const event of execution.eventLogs) options.onEvent?.(event);
  })();
  try {
    const output = await execution.result;
    await events;
    return { executionId, succeeded: true, output };
  } catch (error) {
    await events.catch(() => undefined);
    if (!(error instanceof ExecutionError)) throw error;
    return { executionId, succeeded: false, output: undefined, error: { name: error.name, message: error.message } };
  }
}
