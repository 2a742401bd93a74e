import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DeliverInput, ExecutionStatusChange } from '../common/contracts.ts';
import { METRIC } from '../common/names.ts';
import { metrics } from '../common/observability.ts';
import { type DeliverDeps, deliver, failureNotice, isStatusChange } from './deliver.ts';

/** The Deliver state's input, or an execution's failure from the EventBridge rule (lib/failure-notices.ts). */
export function deliverStage(deps: DeliverDeps) {
  return async (event: DeliverInput | ExecutionStatusChange) => {
    const input = isStatusChange(event) ? failureNotice(event) : event;
    const result = await deliver(input, deps);
    if (isStatusChange(event)) {
      metrics.addMetric(METRIC.failureNoticesSent, MetricUnit.Count, 1);
    } else {
      metrics.addMetric(METRIC.reportsSent, MetricUnit.Count, result.sent ? 1 : 0);
      metrics.addMetric(METRIC.reportsAttached, MetricUnit.Count, result.attached ? 1 : 0);
      metrics.addMetric(METRIC.missingExportAlertsSent, MetricUnit.Count, result.alertMessageId ? 1 : 0);
      if (result.alerts) metrics.addMetric(METRIC.thresholdAlertsFired, MetricUnit.Count, result.alerts.fired);
    }
    return result;
  };
}
