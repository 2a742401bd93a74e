/** The one retry helper: exponential backoff with full jitter. */

export interface RetryOptions {
  attempts?: number;
  baseMs?: number;
  maxMs?: number;
  /** Whether an error is worth another try; default: every error. */
  retryable?: (error: unknown) => boolean;
  /** Server-requested wait for this error (e.g. Retry-After), in ms. */
  delayHint?: (error: unknown) => number | undefined;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random) {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 8, baseMs = 50, maxMs = 5_000, retryable = () => true, delayHint, random = Math.random } = options;
  const wait = options.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt + 1 >= attempts || !retryable(error)) throw error;
      await wait(delayHint?.(error) ?? backoffDelay(attempt, baseMs, maxMs, random));
    }
  }
}

/** AWS SDK errors that mean "try again later". */
export function isTransientAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const meta = (error as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown }).$metadata;
  const status = meta?.httpStatusCode ?? 0;
  return (
    status >= 500 ||
    status === 429 ||
    (error as { $retryable?: unknown }).$retryable !== undefined ||
    /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|TooManyRequests|SlowDown|ECONNRESET|ETIMEDOUT|TimeoutError/.test(
      `${error.name} ${error.message}`,
    )
  );
}
