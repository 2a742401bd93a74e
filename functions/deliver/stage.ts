import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DeliverInput, ExecutionStatusChange } from '../common/contracts.ts';
import { metrics } from '../common/observability.ts';
import { type DeliverDeps, deliver, failureNotice, isStatusChange } from './deliver.ts';

/** The Deliver state's input, or an execution's failure from the EventBridge rule (lib/failure-notices.ts). */
export function deliverStage(deps: DeliverDeps) {
  return async (event: DeliverInput | ExecutionStatusChange) => {
    const input = isStatusChange(event) ? failureNotice(event) : event;
    const result = await deliver(input, deps);
    if (isStatusChange(event)) {
      metrics.addMetric('FailureNoticesSent', MetricUnit.Count, 1);
    } else {
      metrics.addMetric('ReportsSent', MetricUnit.Count, result.sent ? 1 : 0);
      metrics.addMetric('ReportsAttached', MetricUnit.Count, result.attached ? 1 : 0);
      metrics.addMetric('MissingExportAlertsSent', MetricUnit.Count, result.alertMessageId ? 1 : 0);
    }
    return result;
  };
}
