import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Run } from './contracts.ts';
import { logger, metrics } from './observability.ts';
import { asStateError } from './retry.ts';

/**
 * The one way a stage becomes a Lambda handler: the execution id and business date on
 * every log line, metrics flushed after each invocation, transient AWS errors named so
 * that the state machine retries them.
 */
export function stageHandler<E, R>(stage: (event: E) => Promise<R>) {
  return middy(async (event: E) => {
    const run = (event as { run?: Run }).run;
    if (run) logger.appendKeys({ executionId: run.executionId, businessDate: run.date });
    try {
      return await stage(event);
    } catch (error) {
      throw asStateError(error);
    }
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
