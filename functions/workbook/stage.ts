import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BuildInput } from '../common/contracts.ts';
import { metrics } from '../common/observability.ts';
import { type BuildDeps, buildReport } from './build.ts';

/** The Build state: the day's workbook written, its size and rows as metrics. */
export function workbookStage(deps: BuildDeps) {
  return async (event: BuildInput) => {
    const report = await buildReport(event, deps);
    metrics.addMetric('WorkbookBytes', MetricUnit.Bytes, report.workbook.bytes);
    metrics.addMetric(
      'WorkbookRows',
      MetricUnit.Count,
      report.types.reduce((sum, type) => sum + type.rows, 0),
    );
    metrics.addMetric('MissingExports', MetricUnit.Count, report.missing.length);
    metrics.addMetric('LateExports', MetricUnit.Count, report.late?.length ?? 0);
    return report;
  };
}
