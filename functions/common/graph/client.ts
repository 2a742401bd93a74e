import {
  AuthenticationHandler,
  Client,
  HTTPMessageHandler,
  GraphError as LibraryGraphError,
  RedirectHandler,
  RedirectHandlerOptions,
  ResponseType,
  RetryHandler,
  RetryHandlerOptions,
} from '@microsoft/microsoft-graph-client';
import { limiter } from '../../collect/concurrency.ts';
import { retry } from '../retry.ts';
import { GraphError, isTransientStatus } from './error.ts';
import type { TokenProvider } from './token.ts';

export type Permission = 'Mail.Read' | 'Mail.ReadWrite' | 'Sites.Selected';

export interface GraphClientOptions {
  /** The versioned root, e.g. `https://graph.microsoft.com/v1.0`. */
  baseUrl: string;
  tokens: TokenProvider;
  /** Requests in flight at once: Exchange allows an app four per mailbox. */
  maxConcurrency?: number;
  retry?: { attempts?: number; baseMs?: number; maxMs?: number; sleep?: (ms: number) => Promise<void> };
  /** Told of each throttled answer (429, 503, 504) before it is retried. */
  onThrottled?: (status: number) => void;
  /** What a failure is explained by: the mailbox and app it concerns. */
  describe: (failure: {
    status: number;
    code: string;
    message: string | undefined;
    permission: Permission;
    context: string;
  }) => string | undefined;
}

export interface RequestOptions {
  /** What was being done, for errors, e.g. `listing messages`. */
  context: string;
  /** The application permission the request needs (default Mail.Read). */
  permission?: Permission;
}

/** Graph requests through Microsoft's client, with what a mailbox reader or a file upload needs around them. */
export interface GraphClient {
  getJson(url: string, options: RequestOptions): Promise<unknown>;
  postJson(url: string, body: unknown, options: RequestOptions): Promise<unknown>;
  /** Bytes sent whole as the request body (a file's content), the JSON answer returned. */
  putBytes(url: string, body: Buffer, contentType: string, options: RequestOptions): Promise<unknown>;
  /** The response's bytes, streamed into `consume`; a transfer cut off midway is tried again from the start. */
  download<T>(
    url: string,
    options: RequestOptions,
    consume: (chunks: AsyncIterable<Uint8Array>) => Promise<T>,
  ): Promise<T>;
}

/**
 * Microsoft's Graph client with its own middleware: the token (sent only to the configured
 * Graph host), retries of 429/503/504 after the Retry-After the server asked for, and
 * redirects — without the telemetry header. Around it: at most `maxConcurrency` requests at
 * once, the token renewed once when Graph rejects it, broken connections and other server
 * failures tried again, and no URL outside the Graph endpoint's origin requested at all.
 */
export function createGraphClient(options: GraphClientOptions): GraphClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const baseOrigin = new URL(base).origin;
  const attempts = options.retry?.attempts ?? 6;
  const slots = limiter(options.maxConcurrency ?? 4);
  const authentication = new AuthenticationHandler({ getAccessToken: () => options.tokens.token() });
  const throttling = new RetryHandler(
    new RetryHandlerOptions(
      (options.retry?.baseMs ?? 500) / 1000,
      attempts - 1,
      (_delay, _attempt, _request, _init, response) => {
        options.onThrottled?.(response.status);
        return true;
      },
    ),
  );
  const sleep = options.retry?.sleep;
  if (sleep) {
    // The handler's wait, replaced so that a caller may choose how to wait for it.
    Object.assign(throttling, { sleep: (seconds: number) => sleep(seconds * 1000) });
  }
  const client = Client.initWithMiddleware({
    middleware: [
      authentication,
      throttling,
      new RedirectHandler(new RedirectHandlerOptions()),
      new HTTPMessageHandler(),
    ],
    customHosts: new Set([new URL(base).hostname]),
  });

  function guard(url: string, context: string): void {
    if (new URL(url).origin !== baseOrigin) {
      throw new GraphError(`Refusing to send the mailbox token to ${new URL(url).origin} (${context})`, {
        status: 0,
        code: 'UnexpectedOrigin',
      });
    }
  }

  /**
   * One request in a slot; a rejected token is renewed and the request made once more. The
   * token is fetched first, outside the client, so that a refused token request is reported
   * as it is rather than as a failed Graph request.
   */
  async function send<T>(url: string, request: RequestOptions, call: () => Promise<T>): Promise<T> {
    guard(url, request.context);
    return retry(
      async () => {
        for (let renewed = false; ; renewed = true) {
          await options.tokens.token();
          try {
            return await slots(call);
          } catch (error) {
            // What the reader of a body throws (a broken connection, a file it refuses) is its own.
            if (!(error instanceof LibraryGraphError)) throw error;
            const failure = asGraphError(error, request, options.describe);
            if (failure.status === 401 && !renewed) {
              await options.tokens.renew();
              continue;
            }
            throw failure;
          }
        }
      },
      {
        attempts,
        baseMs: options.retry?.baseMs ?? 500,
        maxMs: options.retry?.maxMs ?? 30_000,
        ...(sleep ? { sleep } : {}),
        // Throttling was retried by the client's own handler already.
        retryable: (error) => error instanceof GraphError && error.transient && !isThrottling(error.status),
      },
    );
  }

  return {
    getJson: (url, request) => send(url, request, () => client.api(url).get()),
    postJson: (url, body, request) => send(url, request, () => client.api(url).post(body)),
    // A content type other than application/octet-stream keeps the body retryable by the throttling handler.
    putBytes: (url, body, contentType, request) =>
      send(url, request, () => client.api(url).header('Content-Type', contentType).put(body)),
    download: (url, request, consume) =>
      send(url, request, async () => {
        const response: Response = await client.api(url).responseType(ResponseType.RAW).get();
        if (!response.ok) throw await responseError(response);
        try {
          return await consume(bodyChunks(response, request.context));
        } catch (error) {
          // A reader that stops early must not leave the connection half-read.
          await response.body?.cancel().catch(() => undefined);
          throw error;
        }
      }),
  };
}

function isThrottling(status: number): boolean {
  return status === 429 || status === 503 || status === 504;
}

/** A raw response's failure, as the client reports one for a JSON request. */
async function responseError(response: Response): Promise<LibraryGraphError> {
  const text = await response.text().catch(() => '');
  const failure = readFailure(text);
  const error = new LibraryGraphError(response.status, failure?.message ?? '');
  error.code = failure?.code ?? null;
  error.headers = response.headers;
  return error;
}

function readFailure(text: string): { code: string | undefined; message: string | undefined } | undefined {
  try {
    const json: unknown = JSON.parse(text);
    const error = (json as { error?: { code?: unknown; message?: unknown } }).error;
    return {
      code: typeof error?.code === 'string' ? error.code : undefined,
      message: typeof error?.message === 'string' ? error.message : undefined,
    };
  } catch {
    return undefined;
  }
}

/** The client's failures as collect's: named by status and Graph's code, with what to do about them. */
function asGraphError(
  error: LibraryGraphError,
  request: RequestOptions,
  describe: GraphClientOptions['describe'],
): GraphError {
  // No answer at all: a refused or broken connection.
  if (error.statusCode <= 0) return networkError(error, request.context);
  const status = error.statusCode;
  const code = error.code ?? `HTTP ${status}`;
  const message = error.message || undefined;
  const permission = request.permission ?? 'Mail.Read';
  const described = describe({ status, code, message, permission, context: request.context });
  return new GraphError(
    described ?? `Microsoft Graph failed while ${request.context}: ${status} ${code}${message ? `: ${message}` : ''}`,
    { status, code, transient: isTransientStatus(status) },
  );
}

async function* bodyChunks(response: Response, context: string): AsyncGenerator<Uint8Array> {
  if (!response.body) return;
  try {
    for await (const chunk of response.body) yield chunk;
  } catch (error) {
    throw networkError(error instanceof Error ? error : new Error(String(error)), context);
  }
}

function networkError(error: Error, context: string): GraphError {
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  const reason = `${error.message}${typeof code === 'string' ? ` (${code})` : ''}`;
  return new GraphError(`Connection to Microsoft Graph failed while ${context}: ${reason}`, {
    status: 0,
    code: 'NetworkError',
    transient: true,
  });
}
