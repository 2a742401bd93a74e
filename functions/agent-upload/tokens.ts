import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CharlieError } from '../common/errors.ts';
import { agentTokenKey } from '../common/keys.ts';
import { AGENT_TOKENS_PARTITION } from '../common/names.ts';
import { AGENT_ID_PATTERN, parseAgentToken } from './contract.ts';

/**
 * Each agent has its own secret token `<agentId>.<secret>`. Only the SHA-256 of the secret is
 * stored: the secret is 256 random bits, so a fast hash is as safe as a slow one and costs the
 * endpoint nothing per request.
 */

interface TokenItem {
  pk: string;
  sk: string;
  secretSha256?: string;
  createdAt: string;
  revokedAt?: string;
}

export interface AgentTokenStore {
  dynamodb: DynamoDBDocumentClient;
  table: string;
}

export interface AgentSummary {
  agentId: string;
  createdAt: string;
  revokedAt?: string;
}

export class AgentTokenError extends CharlieError {
  override name = 'AgentTokenError';
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The agent a bearer token names, if the header has the token's shape. */
export function parseBearer(authorization: string | undefined): { agentId: string; secret: string } | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '');
  return match?.[1] ? parseAgentToken(match[1]) : undefined;
}

/** Whether the token is the agent's current one; a revoked agent has no hash left to match. */
export async function verifyAgentToken(store: AgentTokenStore, agentId: string, secret: string): Promise<boolean> {
  const { Item } = await store.dynamodb.send(
    // Strongly consistent, so that a revocation holds from the next request on.
    new GetCommand({ TableName: store.table, Key: agentTokenKey(agentId), ConsistentRead: true }),
  );
  const stored = (Item as TokenItem | undefined)?.secretSha256;
  if (!stored) return false;
  return timingSafeEqual(Buffer.from(hashSecret(secret), 'hex'), Buffer.from(stored, 'hex'));
}

/** Issues a token for a new agent, or for one whose token was revoked; the token is returned once and never stored. */
export async function createAgentToken(store: AgentTokenStore, agentId: string, now: Date): Promise<string> {
  if (!AGENT_ID_PATTERN.test(agentId)) {
    throw new AgentTokenError(`Agent id "${agentId}" must be lower-case letters, digits and -, at most 63 characters`);
  }
  const secret = randomBytes(32).toString('base64url');
  try {
    await store.dynamodb.send(
      new PutCommand({
        TableName: store.table,
        Item: { ...agentTokenKey(agentId), secretSha256: hashSecret(secret), createdAt: now.toISOString() },
        ConditionExpression: 'attribute_not_exists(secretSha256)',
      }),
    );
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') {
      throw new AgentTokenError(`Agent ${agentId} already has a token: revoke it first to issue a new one`);
    }
    throw error;
  }
  return `${agentId}.${secret}`;
}

export async function revokeAgentToken(store: AgentTokenStore, agentId: string, now: Date): Promise<void> {
  try {
    await store.dynamodb.send(
      new UpdateCommand({
        TableName: store.table,
        Key: agentTokenKey(agentId),
        UpdateExpression: 'SET revokedAt = :now REMOVE secretSha256',
        ConditionExpression: 'attribute_exists(secretSha256)',
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),
    );
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') {
      throw new AgentTokenError(`Agent ${agentId} has no token to revoke`);
    }
    throw error;
  }
}

export async function listAgents(store: AgentTokenStore): Promise<AgentSummary[]> {
  const agents: AgentSummary[] = [];
  const pages = paginateQuery(
    { client: store.dynamodb },
    {
      TableName: store.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': AGENT_TOKENS_PARTITION },
    },
  );
  for await (const page of pages) {
    for (const item of (page.Items ?? []) as TokenItem[]) {
      agents.push({
        agentId: item.sk,
        createdAt: item.createdAt,
        ...(item.revokedAt ? { revokedAt: item.revokedAt } : {}),
      });
    }
  }
  return agents;
}
