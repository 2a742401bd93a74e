import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger, metrics } from '../common/observability.ts';
import { type CollectDeps, type CollectEvent, collect } from './collect.ts';
import type { GraphMailSource } from './graph.ts';
import { collectOutput } from './manifest.ts';

export interface CollectStageDeps extends CollectDeps {
  mail: GraphMailSource | undefined;
}

/** The Collect state: the run's mail and files stored, its manifest written, counts as metrics. */
export function collectStage(deps: CollectStageDeps) {
  const { s3, resources, mail } = deps;
  return async (event: CollectEvent) => {
    logger.appendKeys({ executionId: event.executionId });
    // The source lives across warm invocations: this run's throttling is what it added.
    const throttledBefore = mail?.throttled ?? 0;
    const result = await collect(event, deps);
    logger.appendKeys({ businessDate: result.run.date });
    metrics.addMetric('MessagesSeen', MetricUnit.Count, result.mail.messagesSeen);
    metrics.addMetric('MessagesMatched', MetricUnit.Count, result.mail.messagesMatched);
    metrics.addMetric('MessagesIgnored', MetricUnit.Count, result.mail.messagesIgnored);
    metrics.addMetric('AttachmentsStored', MetricUnit.Count, result.mail.attachmentsStored);
    metrics.addMetric('MessagesQuarantined', MetricUnit.Count, result.mail.messagesQuarantined ?? 0);
    metrics.addMetric('GraphThrottled', MetricUnit.Count, (mail?.throttled ?? 0) - throttledBefore);
    return collectOutput(s3, resources.dataBucket, result);
  };
}
