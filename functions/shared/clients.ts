import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
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

export function createClients(endpoints: Endpoints = {}): Clients {
  const common = {
    ...(endpoints.region ? { region: endpoints.region } : {}),
    ...(endpoints.credentials ? { credentials: endpoints.credentials } : {}),
  };
  const s3 = new S3Client({
    ...common,
    ...(endpoints.s3 ? { endpoint: endpoints.s3, forcePathStyle: true } : {}),
  });
  const dynamodb = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...common, ...(endpoints.dynamodb ? { endpoint: endpoints.dynamodb } : {}) }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  const sesv2 = new SESv2Client({ ...common, ...(endpoints.sesv2 ? { endpoint: endpoints.sesv2 } : {}) });
  const secrets = new SecretsManagerClient(common);
  return { s3, dynamodb, sesv2, secrets };
}

/** Names of the deployed resources, from the function's environment. */
export interface Resources {
  dataBucket: string;
  reportsBucket: string;
  table: string;
}

export function resourcesFromEnvironment(env: NodeJS.ProcessEnv = process.env): Resources {
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`Environment variable ${name} is not set`);
    return value;
  };
  return { dataBucket: need('DATA_BUCKET'), reportsBucket: need('REPORTS_BUCKET'), table: need('TABLE_NAME') };
}
