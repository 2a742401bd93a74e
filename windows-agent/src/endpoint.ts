import { z } from 'zod';
import {
  AGENT_ROUTES,
  type AgentRules,
  type UploadRequest,
  type UploadResponse,
} from '../../functions/agent-upload/contract.ts';
import { exportSchema } from '../../functions/common/config.ts';

/** A refusal or a failure of the endpoint or of S3; status 0 when neither could be reached. */
export class EndpointError extends Error {
  override name = 'EndpointError';

  constructor(
    message: string,
    readonly status: number,
    /** How long the server asked to wait (Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** Worth trying again later: unreachable, overloaded, rate limited or failing. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

const rulesSchema = z.object({
  timeZone: z.string().min(1),
  mailbox: z.object({ senders: z.array(z.string()), maxAttachmentBytes: z.number().int().positive() }),
  exports: z.array(exportSchema).min(1),
});

const uploadResponseSchema = z.discriminatedUnion('alreadyStored', [
  z.object({ alreadyStored: z.literal(true), key: z.string().min(1) }),
  z.object({
    alreadyStored: z.literal(false),
    key: z.string().min(1),
    url: z.url(),
    headers: z.record(z.string(), z.string()),
    expiresAt: z.string(),
  }),
]);

export interface EndpointClient {
  rules(): Promise<AgentRules>;
  /** A presigned PUT for the file described, or word that its content is there already. */
  requestUpload(request: UploadRequest): Promise<UploadResponse>;
  /** The file to the presigned URL, with the headers that were signed. */
  upload(url: string, headers: Record<string, string>, body: Buffer): Promise<void>;
}

export function endpointClient(endpoint: string, token: string, fetchImpl: typeof fetch = fetch): EndpointClient {
  const root = endpoint.endsWith('/') ? endpoint : `${endpoint}/`;
  const authorization = `Bearer ${token}`;

  const send = async (url: string, init: RequestInit, what: string): Promise<Response> => {
    let response: Response;
    try {
      response = await fetchImpl(url, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new EndpointError(`${what}: cannot reach ${new URL(url).host} (${cause ?? (error as Error).message})`, 0);
    }
    if (response.ok) return response;
    const text = await response.text();
    const message = (() => {
      try {
        return (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        return text;
      }
    })();
    const retryAfter = Number(response.headers.get('retry-after'));
    throw new EndpointError(
      `${what}: HTTP ${response.status} ${message.slice(0, 500)}`,
      response.status,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    );
  };

  return {
    async rules() {
      const response = await send(
        new URL(AGENT_ROUTES.rules.slice(1), root).href,
        { method: 'GET', headers: { authorization } },
        'Reading the rules',
      );
      const parsed = rulesSchema.safeParse(await response.json());
      if (!parsed.success)
        throw new EndpointError(`The endpoint's rules are not as expected: ${parsed.error.message}`, 502);
      return parsed.data;
    },
    async requestUpload(request) {
      const response = await send(
        new URL(AGENT_ROUTES.uploads.slice(1), root).href,
        {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/json' },
          body: JSON.stringify(request),
        },
        `Asking to push ${request.fileName}`,
      );
      const parsed = uploadResponseSchema.safeParse(await response.json());
      if (!parsed.success)
        throw new EndpointError(`The endpoint's answer is not as expected: ${parsed.error.message}`, 502);
      return parsed.data;
    },
    async upload(url, headers, body) {
      // fetch sets Content-Length from the body itself; it was signed with the same value.
      const { 'content-length': _length, ...rest } = headers;
      await send(url, { method: 'PUT', headers: rest, body: new Uint8Array(body) }, 'Uploading');
    },
  };
}
