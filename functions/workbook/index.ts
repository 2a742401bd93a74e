import { loadBundledConfig } from '../common/bundled-config.ts';
import { createDynamoDbClient, createS3Client, resourcesFromEnvironment } from '../common/clients.ts';
import { stageHandler } from '../common/handler.ts';
import { workbookStage } from './stage.ts';

export const handler = stageHandler(
  workbookStage({
    config: loadBundledConfig(),
    s3: createS3Client(),
    dynamodb: createDynamoDbClient(),
    resources: resourcesFromEnvironment(),
  }),
);
