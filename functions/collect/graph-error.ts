import { CharlieError } from '../common/errors.ts';

/**
 * A Graph failure. Throttling, unavailability and broken connections are marked transient:
 * they leave the stage as TransientError (asStateError), which the state machine retries.
 */
export class GraphError extends CharlieError {
  override name = 'GraphError';
  readonly status: number;
  readonly code: string;

  constructor(message: string, details: { status: number; code: string; transient?: boolean }) {
    super(message, { transient: details.transient ?? false });
    this.status = details.status;
    this.code = details.code;
  }
}

/** Throttling and every server-side failure are worth another try. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}
