import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../common/bundled-config.ts';
import { createDynamoDbClient, createS3Client, LOOPED_ATTEMPTS, resourcesFromEnvironment } from '../common/clients.ts';
import type { BuildInput } from '../common/contracts.ts';
import { stageHandler } from '../common/handler.ts';
import { METRIC } from '../common/names.ts';
import { metrics } from '../common/observability.ts';
import { buildReport } from './build.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
// Every query of the day's rows loops in build.ts.
const dynamodb = createDynamoDbClient({}, LOOPED_ATTEMPTS);
const resources = resourcesFromEnvironment();

export const handler = stageHandler(async (event: BuildInput) => {
  const report = await buildReport(event, { config, s3, dynamodb, resources });
  metrics.addMetric(METRIC.workbookBytes, MetricUnit.Bytes, report.workbook.bytes);
  metrics.addMetric(
    METRIC.workbookRows,
    MetricUnit.Count,
    report.types.reduce((sum, type) => sum + type.rows, 0),
  );
  metrics.addMetric(METRIC.missingExports, MetricUnit.Count, report.missing.length);
  metrics.addMetric(METRIC.lateExports, MetricUnit.Count, report.late?.length ?? 0);
  return report;
});
