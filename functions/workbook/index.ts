import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadBundledConfig } from '../common/bundled-config.ts';
import { createDynamoDbClient, createS3Client, resourcesFromEnvironment } from '../common/clients.ts';
import type { BuildInput } from '../common/contracts.ts';
import { stageHandler } from '../common/handler.ts';
import { metrics } from '../common/observability.ts';
import { buildReport } from './build.ts';

const config = loadBundledConfig();
const s3 = createS3Client();
const dynamodb = createDynamoDbClient();
const resources = resourcesFromEnvironment();

export const handler = stageHandler(async (event: BuildInput) => {
  const report = await buildReport(event, { config, s3, dynamodb, resources });
  metrics.addMetric('WorkbookBytes', MetricUnit.Bytes, report.workbook.bytes);
  metrics.addMetric(
    'WorkbookRows',
    MetricUnit.Count,
    report.types.reduce((sum, type) => sum + type.rows, 0),
  );
  metrics.addMetric('MissingExports', MetricUnit.Count, report.missing.length);
  metrics.addMetric('LateExports', MetricUnit.Count, report.late?.length ?? 0);
  return report;
});
