import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createSfnClient, fromEnvironment } from '../common/clients.ts';
import { stageHandler } from '../common/handler.ts';
import { ENV, METRIC } from '../common/names.ts';
import { logger, metrics } from '../common/observability.ts';
import { checkRun, type RunCheckInput } from './run-check.ts';

const sfn = createSfnClient();
const stateMachineArn = fromEnvironment(ENV.stateMachineArn);

export const handler = stageHandler(async (event: RunCheckInput) => {
  const check = await checkRun(sfn, stateMachineArn, event);
  // 0 as well as 1, so that the alarm sees every check and a missing datapoint means a check that did not run.
  metrics.addMetric(METRIC.lateRuns, MetricUnit.Count, check.late ? 1 : 0);
  if (check.late) logger.warn('No run has succeeded since one was due', { ...check });
  else logger.info('The run due has happened', { ...check });
  return check;
});
