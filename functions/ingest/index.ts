import { loadBundledConfig } from '../common/bundled-config.ts';
import { createDynamoDbClient, createS3Client, LOOPED_ATTEMPTS, resourcesFromEnvironment } from '../common/clients.ts';
import { stageHandler } from '../common/handler.ts';
import { manifestReader } from '../common/run-records.ts';
import { ingestStage } from './stage.ts';

const s3 = createS3Client();

export const handler = stageHandler(
  ingestStage({
    config: loadBundledConfig(),
    s3,
    // Every row, lease, removal and row digest request loops in store.ts, lease.ts, remove.ts and digests.ts.
    dynamodb: createDynamoDbClient({}, LOOPED_ATTEMPTS),
    resources: resourcesFromEnvironment(),
    manifests: manifestReader(s3),
  }),
);
