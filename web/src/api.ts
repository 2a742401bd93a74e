/** The console API's answers as the page sees them: the JSON body, or an ApiError with the API's own message. */

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** A text body (the rejects CSV). */
  text(path: string): Promise<string>;
}

/**
 * Calls the API with the access token. A 401 (token expired or revoked) hands over to
 * `onUnauthorized`, which signs in again; the call's promise then never settles, as the page is
 * leaving.
 */
export function createApiClient(options: {
  apiUrl: string;
  accessToken: () => string | undefined;
  onUnauthorized: () => void;
  fetchFn?: typeof fetch;
}): ApiClient {
  const base = options.apiUrl.replace(/\/$/, '');
  const fetchFn = options.fetchFn ?? fetch;

  async function send(method: string, path: string, body?: unknown): Promise<Response> {
    const token = options.accessToken();
    if (!token) return unauthorized();
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetchFn(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw new ApiError(0, 'network', `The console API could not be reached: ${(error as Error).message}`);
    }
    if (response.status === 401) return unauthorized();
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  function unauthorized(): Promise<never> {
    options.onUnauthorized();
    return new Promise<never>(() => undefined);
  }

  return {
    async get<T>(path: string) {
      return (await (await send('GET', path)).json()) as T;
    },
    async post<T>(path: string, body?: unknown) {
      return (await (await send('POST', path, body ?? {})).json()) as T;
    },
    async text(path: string) {
      return (await send('GET', path)).text();
    },
  };
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) return new ApiError(response.status, body.error.code ?? 'error', body.error.message);
  } catch {
    // Not the API's JSON error (a gateway's page, say): the status says what happened.
  }
  return new ApiError(response.status, 'http', `The console API answered ${response.status} ${response.statusText}`);
}
