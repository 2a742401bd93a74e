import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Run } from './contracts.ts';
import { asStateError } from './errors.ts';
import { logger, metrics } from './observability.ts';

/** What a stage may ask of its Lambda invocation. */
export interface Invocation {
  /** Time left before Lambda stops the invocation (its timeout), in ms. */
  getRemainingTimeInMillis(): number;
}

/**
 * The one way a stage becomes a Lambda handler: the execution id and business date on
 * every log line, metrics flushed after each invocation, transient AWS errors named so
 * that the state machine retries them.
 */
export function stageHandler<E, R>(stage: (event: E, invocation: Invocation) => Promise<R>) {
  return middy(async (event: E, invocation: Invocation) => {
    const run = (event as { run?: Run }).run;
    if (run) logger.appendKeys({ executionId: run.executionId, businessDate: run.date });
    try {
      return await stage(event, invocation);
    } catch (error) {
      throw asStateError(error);
    }
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
