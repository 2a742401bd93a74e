import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { stepFunctionsControl } from '../actions/executions.ts';
import { loadBundledConfig } from '../common/bundled-config.ts';
import {
  createDynamoDbClient,
  createS3Client,
  createSfnClient,
  fromEnvironment,
  resourcesFromEnvironment,
} from '../common/clients.ts';
import { stageHandler } from '../common/handler.ts';
import { ENV } from '../common/names.ts';
import { cloudWatchMonitoring } from './health.ts';
import { type ConsoleDeps, type ConsoleRequest, handleConsoleRequest } from './router.ts';
import { versionedWorkbooks } from './workbooks.ts';

const config = loadBundledConfig();
if (!config.console)
  throw new Error('The configuration has no console section: the console API is not deployed without one');
const resources = resourcesFromEnvironment();
const s3 = createS3Client();
const listed = (name: string) => (process.env[name] ?? '').split(',').filter(Boolean);

const deps: ConsoleDeps = {
  config,
  settings: config.console,
  s3,
  dynamodb: createDynamoDbClient(),
  resources,
  executions: stepFunctionsControl(createSfnClient(), fromEnvironment(ENV.stateMachineArn)),
  workbooks: versionedWorkbooks(s3, resources.reportsBucket),
  monitoring: cloudWatchMonitoring(
    new CloudWatchClient({}),
    listed(ENV.alarmNames),
    listed(ENV.deadLetterQueues),
    () => new Date(),
  ),
};

export const handler = stageHandler((event: ConsoleRequest) => handleConsoleRequest(event, deps));
