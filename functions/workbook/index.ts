import { loadBundledConfig } from '../common/bundled-config.ts';
import { createDynamoDbClient, createS3Client, LOOPED_ATTEMPTS, resourcesFromEnvironment } from '../common/clients.ts';
import { stageHandler } from '../common/handler.ts';
import { workbookStage } from './stage.ts';

export const handler = stageHandler(
  workbookStage({
    config: loadBundledConfig(),
    s3: createS3Client(),
    // Every query of the day's rows loops in build.ts.
    dynamodb: createDynamoDbClient({}, LOOPED_ATTEMPTS),
    resources: resourcesFromEnvironment(),
  }),
);
