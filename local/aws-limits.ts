import { S3ServiceException } from '@aws-sdk/client-s3';
import type { Clients } from '../functions/common/clients.ts';

/**
 * Limits AWS enforces and the local emulators do not (aws-local-stepfunctions, s3rver),
 * enforced on the local stack so that a test fails here before a deploy fails there.
 */
export const awsLimits = {
  /** Step Functions: a state's input or output, a task's result, an execution's input (UTF-8 JSON). */
  stateDataBytes: 262_144,
  /** Lambda: a synchronous invocation's request and response (6 MB). */
  lambdaPayloadBytes: 6_291_456,
  /** DynamoDB: one item, attribute names and values (enforced by dynalite itself). */
  dynamoDbItemBytes: 409_600,
  /** S3: an object's user metadata, keys and values. */
  s3UserMetadataBytes: 2_048,
} as const;

/** The size Step Functions and Lambda measure a payload by: its JSON text in UTF-8. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
}

/** A named error, as the service reports it. */
export class AwsLimitError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Step Functions fails a state whose data passes 256 KB with this error, which no `States.ALL` retries or catches. */
export function stateDataLimitExceeded(state: string, what: string, bytes: number): AwsLimitError {
  return new AwsLimitError(
    'States.DataLimitExceeded',
    `The state/task '${state}' ${what} with a size exceeding the maximum number of bytes service limit (${bytes} > ${awsLimits.stateDataBytes} bytes).`,
  );
}

/** A task's input after Parameters, or its result before ResultSelector and ResultPath: state data as well. */
export function checkStateData(state: string, what: 'was given an input' | 'returned a result', data: unknown): void {
  const bytes = jsonBytes(data);
  if (bytes > awsLimits.stateDataBytes) throw stateDataLimitExceeded(state, what, bytes);
}

/**
 * Lambda fails an invocation whose response passes 6 MB. (Its request cannot: a task's input
 * is state data, refused above 256 KB first.)
 */
export function checkLambdaResponse(state: string, response: unknown): void {
  const bytes = jsonBytes(response);
  if (bytes <= awsLimits.lambdaPayloadBytes) return;
  throw new AwsLimitError(
    'Function.ResponseSizeTooLarge',
    `${state}: response payload of ${bytes} bytes exceeded maximum allowed payload size (${awsLimits.lambdaPayloadBytes} bytes)`,
  );
}

/** The events of the local engine's log that carry state data (see local/pipeline.ts). */
export type DataEvent =
  | { type: 'StateEntered'; state: { name: string; input: unknown }; index?: number }
  | { type: 'StateExited'; state: { name: string; output?: unknown }; index?: number }
  | { type: 'MapIterationStarted'; parentState: { name: string }; index: number; input: unknown }
  | { type: 'MapIterationSucceeded'; parentState: { name: string }; index: number; output: unknown }
  | { type: string };

/** The largest state data an execution carried, and where. */
export interface LargestPayload {
  bytes: number;
  state: string;
  what: 'input' | 'output';
}

/**
 * Measures every state input and output of an execution's event log, Map iterations
 * included, keeping the largest, and tells the first that passes Step Functions' limit.
 */
export class StatePayloadMeter {
  largest: LargestPayload = { bytes: 0, state: '', what: 'input' };

  /** The error the state fails with in AWS, if this event's data is over the limit. */
  measure(event: DataEvent): AwsLimitError | undefined {
    const measured = measurable(event);
    if (!measured) return undefined;
    const bytes = jsonBytes(measured.data);
    if (bytes > this.largest.bytes) this.largest = { bytes, state: measured.state, what: measured.what };
    if (bytes <= awsLimits.stateDataBytes) return undefined;
    return stateDataLimitExceeded(
      measured.state,
      measured.what === 'output' ? 'returned a result' : 'was given an input',
      bytes,
    );
  }
}

function measurable(event: DataEvent): { state: string; what: 'input' | 'output'; data: unknown } | undefined {
  const at = (name: string, index: number | undefined) => (index === undefined ? name : `${name}[${index}]`);
  if ('state' in event && event.type === 'StateEntered') {
    return { state: at(event.state.name, event.index), what: 'input', data: event.state.input };
  }
  if ('state' in event && event.type === 'StateExited') {
    return { state: at(event.state.name, event.index), what: 'output', data: event.state.output };
  }
  if ('parentState' in event && event.type === 'MapIterationStarted') {
    return { state: at(event.parentState.name, event.index), what: 'input', data: event.input };
  }
  if ('parentState' in event && event.type === 'MapIterationSucceeded') {
    return { state: at(event.parentState.name, event.index), what: 'output', data: event.output };
  }
  return undefined;
}

/** User metadata's size as S3 counts it: every key and value in UTF-8. */
export function s3MetadataBytes(metadata: Record<string, string> | undefined): number {
  return Object.entries(metadata ?? {}).reduce((sum, [key, value]) => sum + utf8(key) + utf8(value), 0);
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

const metadataCommands = new Set(['PutObjectCommand', 'CreateMultipartUploadCommand', 'CopyObjectCommand']);

/**
 * Makes the local stack's S3 client refuse what S3 refuses and s3rver accepts: user metadata
 * over 2 KB (MetadataTooLarge). DynamoDB's 400 KB item limit needs nothing here: dynalite
 * enforces it with DynamoDB's errors (PutItem, BatchWriteItem, and UpdateItem on the updated item).
 */
export function enforceAwsLimits(clients: Pick<Clients, 's3'>): void {
  clients.s3.middlewareStack.add(
    (next, context) => async (args) => {
      const { Metadata } = args.input as { Metadata?: Record<string, string> };
      if (
        metadataCommands.has(context.commandName ?? '') &&
        s3MetadataBytes(Metadata) > awsLimits.s3UserMetadataBytes
      ) {
        throw new S3ServiceException({
          name: 'MetadataTooLarge',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'Your metadata headers exceed the maximum allowed metadata size.',
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 's3UserMetadataLimit' },
  );
}
