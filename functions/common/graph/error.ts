/**
 * A Graph failure. Throttling, unavailability and broken connections are named
 * `TransientError`, the name the state machine retries.
 */
export class GraphError extends Error {
  readonly status: number;
  readonly code: string;
  readonly transient: boolean;
  /** The wait the server asked for (Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    details: { status: number; code: string; transient?: boolean; retryAfterMs?: number | undefined },
  ) {
    super(message);
    this.status = details.status;
    this.code = details.code;
    this.transient = details.transient ?? false;
    this.retryAfterMs = details.retryAfterMs;
    this.name = this.transient ? 'TransientError' : 'GraphError';
  }
}

/** Throttling and every server-side failure are worth another try. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}
