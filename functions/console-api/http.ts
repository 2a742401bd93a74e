import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { CharlieError } from '../common/errors.ts';
import type { ApiError } from './contract.ts';

export type ApiResponse = APIGatewayProxyStructuredResultV2;

const statusCodes = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  internal: 500,
} as const satisfies Record<ApiError['error']['code'], number>;

/** A refusal the client is told about, with its status and a message; never a stack trace. */
export class HttpError extends CharlieError {
  override name = 'HttpError';
  constructor(
    readonly code: ApiError['error']['code'],
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return statusCodes[this.code];
  }
}

const noStore = { 'cache-control': 'no-store' };

export function json(status: number, body: unknown): ApiResponse {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...noStore },
    body: JSON.stringify(body),
  };
}

export function text(
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): ApiResponse {
  return { statusCode: status, headers: { 'content-type': contentType, ...noStore, ...headers }, body };
}

export function errorResponse(error: HttpError): ApiResponse {
  const body: ApiError = { error: { code: error.code, message: error.message } };
  return json(error.status, body);
}
