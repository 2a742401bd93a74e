import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV } from './names.ts';

/** Endpoint overrides: none in AWS; loopback emulators in the local stack and tests. */
export interface Endpoints {
  s3?: string;
  dynamodb?: string;
  sesv2?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface Clients {
  s3: S3Client;
  dynamodb: DynamoDBDocumentClient;
  sesv2: SESv2Client;
  secrets: SecretsManagerClient;
}

/**
 * The SDK's attempts per request (`maxAttempts`, standard retry mode) for a client whose calls
 * are not wrapped in retry() (retry.ts): the SDK's own default, said here so that it is chosen.
 */
export const SDK_ATTEMPTS = 3;

/**
 * For a client whose every call goes through retry() (retry.ts): one SDK attempt per attempt
 * of the loop, so that the two do not multiply. docs/operations.md (Retries) lists each path.
 */
export const LOOPED_ATTEMPTS = 1;

function common(endpoints: Endpoints, maxAttempts: number) {
  return {
    maxAttempts,
    ...(endpoints.region ? { region: endpoints.region } : {}),
    ...(endpoints.credentials ? { credentials: endpoints.credentials } : {}),
  };
}

// One factory per service, so that a function's bundle holds only the SDK clients it uses.

export function createS3Client(endpoints: Endpoints = {}, maxAttempts = SDK_ATTEMPTS): S3Client {
  return new S3Client({
    ...common(endpoints, maxAttempts),
    ...(endpoints.s3 ? { endpoint: endpoints.s3, forcePathStyle: true } : {}),
  });
}

export function createDynamoDbClient(endpoints: Endpoints = {}, maxAttempts = SDK_ATTEMPTS): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      ...common(endpoints, maxAttempts),
      ...(endpoints.dynamodb ? { endpoint: endpoints.dynamodb } : {}),
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}

export function createSesClient(endpoints: Endpoints = {}, maxAttempts = SDK_ATTEMPTS): SESv2Client {
  return new SESv2Client({
    ...common(endpoints, maxAttempts),
    ...(endpoints.sesv2 ? { endpoint: endpoints.sesv2 } : {}),
  });
}

export function createSecretsClient(endpoints: Endpoints = {}): SecretsManagerClient {
  return new SecretsManagerClient(common(endpoints, SDK_ATTEMPTS));
}

export function createSfnClient(endpoints: Endpoints = {}): SFNClient {
  return new SFNClient(common(endpoints, SDK_ATTEMPTS));
}

/** Every client at once: for the local stack and tests. */
export function createClients(endpoints: Endpoints = {}): Clients {
  return {
    s3: createS3Client(endpoints),
    dynamodb: createDynamoDbClient(endpoints),
    sesv2: createSesClient(endpoints),
    secrets: createSecretsClient(endpoints),
  };
}

/** Names of the deployed resources, from the function's environment. */
export interface Resources {
  dataBucket: string;
  reportsBucket: string;
  table: string;
}

export function resourcesFromEnvironment(env: NodeJS.ProcessEnv = process.env): Resources {
  return {
    dataBucket: fromEnvironment(ENV.dataBucket, env),
    reportsBucket: fromEnvironment(ENV.reportsBucket, env),
    table: fromEnvironment(ENV.table, env),
  };
}

/** A variable the function's construct sets; its absence is a deployment fault, told at once. */
export function fromEnvironment(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}
