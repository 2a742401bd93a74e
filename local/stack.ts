import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTableCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import sesModule from 'aws-ses-v2-local';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { type Clients, createClients, type Endpoints, type Resources } from '../functions/common/clients.ts';
import { TABLE_KEY } from '../functions/common/names.ts';
import { enforceAwsLimits } from './aws-limits.ts';
import { keepReportVersions } from './report-versions.ts';

/**
 * The AWS services of the pipeline, emulated in this process on free loopback ports:
 * dynalite (DynamoDB), s3rver (S3), aws-ses-v2-local (SESv2). The clients refuse what AWS
 * refuses and the emulators accept (local/aws-limits.ts).
 */
export interface LocalStack {
  endpoints: Endpoints;
  clients: Clients;
  resources: Resources;
  /** aws-ses-v2-local's HTTP root: `GET /store` lists what was sent. */
  sesUrl: string;
  stop(): Promise<void>;
}

// A CommonJS module with `exports.default`: Node's ESM loader hands over the whole exports object.
type StartSes = typeof sesModule.default;
const startSes: StartSes =
  (sesModule as unknown as { default?: StartSes }).default ?? (sesModule as unknown as StartSes);

export const localCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * `dir` holds s3rver's files; with `keep`, also dynalite's (its on-disk LevelDB mode, under
 * `dynamodb/`), so a later stack on the same `dir` sees the table as it was left.
 */
export async function startLocalStack(dir: string, options: { keep?: boolean } = {}): Promise<LocalStack> {
  mkdirSync(join(dir, 's3'), { recursive: true });
  const resources: Resources = { dataBucket: 'charlie-data', reportsBucket: 'charlie-reports', table: 'charlie' };

  const dynamo = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.keep ? { path: join(dir, 'dynamodb') } : {}),
  });
  const dynamoPort = await listen(dynamo);

  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: [{ name: resources.dataBucket }, { name: resources.reportsBucket }],
  });
  const s3Address = await s3.run();

  const ses = await startSes({ host: '127.0.0.1', port: 0 });
  const sesPort = (ses.address() as AddressInfo).port;

  const endpoints: Endpoints = {
    s3: `http://127.0.0.1:${s3Address.port}`,
    dynamodb: `http://127.0.0.1:${dynamoPort}`,
    sesv2: `http://127.0.0.1:${sesPort}`,
    region: 'us-east-1',
    credentials: localCredentials,
  };
  const clients = createClients(endpoints);
  enforceAwsLimits(clients);
  keepReportVersions(clients.s3, resources.reportsBucket);
  await createTable(clients, resources.table);

  return {
    endpoints,
    clients,
    resources,
    sesUrl: `http://127.0.0.1:${sesPort}`,
    async stop() {
      for (const client of Object.values(clients)) client.destroy();
      await Promise.all([close(dynamo), s3.close(), close(ses)]);
    },
  };
}

/** The table as CDK defines it; on a kept stack it is already there. */
async function createTable(clients: Clients, table: string): Promise<void> {
  const created = clients.dynamodb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: TABLE_KEY.partition, AttributeType: 'S' },
        { AttributeName: TABLE_KEY.sort, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: TABLE_KEY.partition, KeyType: 'HASH' },
        { AttributeName: TABLE_KEY.sort, KeyType: 'RANGE' },
      ],
    }),
  );
  await created.catch((error: unknown) => {
    if (!(error instanceof ResourceInUseException)) throw error;
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}
