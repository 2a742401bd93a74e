import { loadBundledConfig } from '../common/bundled-config.ts';
import { createDynamoDbClient, createS3Client, resourcesFromEnvironment } from '../common/clients.ts';
import { stageHandler } from '../common/handler.ts';
import { manifestReader } from '../common/run-records.ts';
import { ingestStage } from './stage.ts';

const s3 = createS3Client();

export const handler = stageHandler(
  ingestStage({
    config: loadBundledConfig(),
    s3,
    dynamodb: createDynamoDbClient(),
    resources: resourcesFromEnvironment(),
    manifests: manifestReader(s3),
  }),
);
