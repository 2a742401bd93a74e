import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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

function common(endpoints: Endpoints) {
  return {
    ...(endpoints.region ? { region: endpoints.region } : {}),
    ...(endpoints.credentials ? { credentials: endpoints.credentials } : {}),
  };
}

// One factory per service, so that a function's bundle holds only the SDK clients it uses.

export function createS3Client(endpoints: Endpoints = {}): S3Client {
  return new S3Client({
    ...common(endpoints),
    ...(endpoints.s3 ? { endpoint: endpoints.s3, forcePathStyle: true } : {}),
  });
}

export function createDynamoDbClient(endpoints: Endpoints = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...common(endpoints), ...(endpoints.dynamodb ? { endpoint: endpoints.dynamodb } : {}) }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}

export function createSesClient(endpoints: Endpoints = {}): SESv2Client {
  return new SESv2Client({ ...common(endpoints), ...(endpoints.sesv2 ? { endpoint: endpoints.sesv2 } : {}) });
}

export function createSecretsClient(endpoints: Endpoints = {}): SecretsManagerClient {
  return new SecretsManagerClient(common(endpoints));
}

export function createSfnClient(endpoints: Endpoints = {}): SFNClient {
  return new SFNClient(common(endpoints));
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
    dataBucket: fromEnvironment('DATA_BUCKET', env),
    reportsBucket: fromEnvironment('REPORTS_BUCKET', env),
    table: fromEnvironment('TABLE_NAME', env),
  };
}

/** A variable the function's construct sets; its absence is a deployment fault, told at once. */
export function fromEnvironment(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}
