import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { en } from 'zod/locales';
import { config as zodConfig } from 'zod/mini';
import type { Resources } from '../common/clients.ts';
import type { Config } from '../common/config.ts';
import { recogniseTypeFromName } from '../common/exports.ts';
import { agentInboxKey, agentRateKey } from '../common/keys.ts';
import { boundedMetadata, objectExists, storeLineage } from '../common/objects.ts';
import { logger } from '../common/observability.ts';
import {
  AGENT_ROUTES,
  agentRules,
  type ErrorBody,
  MAX_REQUEST_BODY_BYTES,
  type UploadRequest,
  type UploadResponse,
  uploadRequestSchema,
} from './contract.ts';
import { parseBearer, verifyAgentToken } from './tokens.ts';

// Messages in English for the 400 answers; zod's tree-shakable API loads no language by itself.
zodConfig(en());

/** An HTTP request, whatever carried it (a Lambda function URL, or the local server). */
export interface AgentRequest {
  method: string;
  path: string;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  body: string;
}

export interface AgentResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface AgentEndpointLimits {
  /** Requests an agent may make in one UTC minute. */
  requestsPerMinute: number;
  /** How long a presigned PUT works. */
  urlExpirySeconds: number;
}

/** Two pushes a second at most on average; a first run with days of mail behind it just takes a few minutes. */
export const defaultLimits: AgentEndpointLimits = { requestsPerMinute: 120, urlExpirySeconds: 600 };

export interface AgentEndpointDeps {
  config: Config;
  s3: S3Client;
  dynamodb: DynamoDBDocumentClient;
  resources: Resources;
  limits?: AgentEndpointLimits;
  now?: () => number;
}

/**
 * The Windows agent's endpoint: authenticates the agent by its bearer token, limits its
 * request rate, serves the rules it picks files by, and answers a file's description with a
 * presigned PUT scoped to one key under the agent inbox prefix.
 */
export async function handleAgentRequest(request: AgentRequest, deps: AgentEndpointDeps): Promise<AgentResponse> {
  const now = deps.now ?? Date.now;
  const limits = deps.limits ?? defaultLimits;
  const route = Object.values(AGENT_ROUTES).find((path) => path === request.path.replace(/\/+$/, ''));
  if (!route) return error(404, `No such route: the endpoint serves ${Object.values(AGENT_ROUTES).join(' and ')}`);

  // What needs no store read comes first: the method, the size of the body, the token's shape.
  const method = route === AGENT_ROUTES.rules ? 'GET' : 'POST';
  if (request.method !== method) return error(405, `Use ${method}`, { allow: method });
  if (Buffer.byteLength(request.body) > MAX_REQUEST_BODY_BYTES) {
    return error(
      413,
      `A request describes one file in at most ${MAX_REQUEST_BODY_BYTES} bytes; files go to the presigned URL`,
    );
  }
  const bearer = parseBearer(request.headers.authorization);
  const store = { dynamodb: deps.dynamodb, table: deps.resources.table };
  if (!bearer || !(await verifyAgentToken(store, bearer.agentId, bearer.secret))) {
    logger.warn('Agent request refused', { route, reason: bearer ? 'unknown or revoked token' : 'no bearer token' });
    return error(401, 'The agent token is missing, malformed, unknown or revoked', {
      'www-authenticate': 'Bearer realm="charlie-agent"',
    });
  }
  const { agentId } = bearer;
  const wait = await admit(deps, agentId, now(), limits.requestsPerMinute);
  if (wait !== undefined) {
    logger.warn('Agent rate limited', { agentId, route });
    return error(429, `More than ${limits.requestsPerMinute} requests in a minute`, { 'retry-after': String(wait) });
  }

  if (route === AGENT_ROUTES.rules) return json(200, agentRules(deps.config));
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch {
    return error(400, 'The request body is not JSON');
  }
  const parsed = uploadRequestSchema.safeParse(body);
  if (!parsed.success) {
    return error(400, parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
  }
  const upload = parsed.data;
  if (upload.type !== undefined && !deps.config.exports.some((spec) => spec.type === upload.type)) {
    return error(400, `type: ${upload.type} is not one of ${deps.config.exports.map((s) => s.type).join(', ')}`);
  }
  const limit = deps.config.mailbox.maxAttachmentBytes;
  if (upload.bytes > limit) return error(413, `${upload.bytes} bytes is over maxAttachmentBytes (${limit})`);

  const response = await presignUpload(deps, agentId, upload, now(), limits.urlExpirySeconds);
  logger.info('Agent upload', {
    agentId,
    key: response.key,
    bytes: upload.bytes,
    alreadyStored: response.alreadyStored,
  });
  return json(200, response);
}

/**
 * Counts the request in the agent's current minute; the seconds to wait when it is over its
 * limit. One conditional update: concurrent requests cannot both take the last slot.
 */
async function admit(
  deps: AgentEndpointDeps,
  agentId: string,
  nowMs: number,
  limit: number,
): Promise<number | undefined> {
  const minute = new Date(nowMs).toISOString().slice(0, 16);
  try {
    await deps.dynamodb.send(
      new UpdateCommand({
        TableName: deps.resources.table,
        Key: agentRateKey(agentId, minute),
        UpdateExpression: 'ADD #requests :one SET #expiresAt = :expiresAt',
        ConditionExpression: 'attribute_not_exists(#requests) OR #requests < :limit',
        ExpressionAttributeNames: { '#requests': 'requests', '#expiresAt': 'expiresAt' },
        // The table's TTL removes the counter an hour after its minute.
        ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expiresAt': Math.floor(nowMs / 1000) + 3600 },
      }),
    );
    return undefined;
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    return 60 - new Date(nowMs).getUTCSeconds();
  }
}

async function presignUpload(
  deps: AgentEndpointDeps,
  agentId: string,
  upload: UploadRequest,
  nowMs: number,
  expiresIn: number,
): Promise<UploadResponse> {
  const { config, s3, resources } = deps;
  const receivedAt = new Date(upload.receivedAt).toISOString();
  const key = agentInboxKey(
    config.agentInbox.prefix,
    agentId,
    receivedAt,
    upload.sha256,
    objectName(upload.fileName, upload.type, config),
  );
  if (await objectExists(s3, resources.dataBucket, key)) return { alreadyStored: true, key };

  // What collect reads back (functions/collect/collect.ts): lineage as metadata, bounded as it bounds it,
  // values too long for S3's 2 KB kept beside the file before the agent may put it.
  const { metadata, beside } = boundedMetadata({
    'received-at': receivedAt,
    'exported-at': new Date(upload.exportedAt).toISOString(),
    'attachment-name': upload.fileName,
    ...(upload.messageId ? { 'message-id': upload.messageId } : {}),
    ...(upload.sender ? { sender: upload.sender } : {}),
  });
  await storeLineage(s3, resources.dataBucket, key, beside);
  const checksum = Buffer.from(upload.sha256, 'hex').toString('base64');
  const headers: Record<string, string> = {
    'content-type': /\.zip$/i.test(upload.fileName) ? 'application/zip' : 'text/csv',
    'content-length': String(upload.bytes),
    'x-amz-checksum-sha256': checksum,
    ...Object.fromEntries(Object.entries(metadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
  };
  // Signed as headers, not hoisted into the query: the PUT must carry exactly this length,
  // digest and metadata, and S3 rejects a body whose SHA-256 differs.
  const signed = new Set(Object.keys(headers));
  const url = await getSignedUrl(
    s3,
    new PutObjectCommand({
      Bucket: resources.dataBucket,
      Key: key,
      ContentType: headers['content-type'],
      ContentLength: upload.bytes,
      ChecksumSHA256: checksum,
      Metadata: metadata,
    }),
    { expiresIn, signableHeaders: signed, unhoistableHeaders: signed },
  );
  return { alreadyStored: false, key, url, headers, expiresAt: new Date(nowMs + expiresIn * 1000).toISOString() };
}

/** The attachment's full name is its lineage (metadata); the key needs only its type and extension. */
const maxObjectNameLength = 121;

/**
 * The key's last segment, which collect reads the export type from: the attachment's own name
 * when it names the type the agent recognised (or no type was), else that name behind a
 * `<Type>__` prefix (for a zip, collect then types the CSVs inside by it).
 */
function objectName(fileName: string, type: string | undefined, config: Config): string {
  const replaced = fileName.replace(/[^A-Za-z0-9._() -]/g, '_');
  // A key segment short enough for any store; the start (the type) and the end (the extension) kept.
  const safe = replaced.length > maxObjectNameLength ? `${replaced.slice(0, 80)}_${replaced.slice(-40)}` : replaced;
  return type === undefined || recogniseTypeFromName(safe, config)?.type === type ? safe : `${type}__${safe}`;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): AgentResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

function error(status: number, message: string, headers: Record<string, string> = {}): AgentResponse {
  const body: ErrorBody = { error: message };
  return json(status, body, headers);
}
