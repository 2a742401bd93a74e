import { isTransientAwsError } from './retry.ts';

/**
 * The base of every error the functions raise of their own. Each class sets its `name`: the
 * bundles are minified, so a class's own name does not survive, and the name is what Lambda
 * reports and Step Functions matches.
 */
export class CharlieError extends Error {
  override name = 'CharlieError';
  /** Worth trying again later (throttling, unavailability, a broken connection), not a fault of the input. */
  readonly transient: boolean;

  constructor(message: string, options?: ErrorOptions & { transient?: boolean }) {
    super(message, options);
    this.transient = options?.transient ?? false;
  }
}

/**
 * A failure worth another try later. The state machine's Retry catches errors by this name
 * (stepfunctions/charlie.asl.json), so every transient failure leaves a stage as one (asStateError).
 */
export class TransientError extends CharlieError {
  override name = 'TransientError';

  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, transient: true });
  }
}

/**
 * The error a stage hands to Step Functions: a transient one — a CharlieError marked so, or a
 * throttled or failing AWS call — as a TransientError (its cause kept), any other as it is.
 */
export function asStateError(error: unknown): unknown {
  if (error instanceof TransientError) return error;
  if ((error instanceof CharlieError && error.transient) || isTransientAwsError(error)) {
    return new TransientError((error as Error).message, { cause: error });
  }
  return error;
}
