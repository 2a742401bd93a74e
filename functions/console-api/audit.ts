import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { auditKey } from '../common/keys.ts';
import { PARTITION_PREFIX } from '../common/names.ts';
import { isTransientAwsError, retry } from '../common/retry.ts';
import type { AuditEntry } from './contract.ts';

const awsRetry = { retryable: isTransientAwsError };

/** Entries the day's page lists (the newest). */
const maxDayEntries = 200;

/** Writes who did what to a day, once it is done (with the execution it started). */
export async function writeAudit(dynamodb: DynamoDBDocumentClient, table: string, entry: AuditEntry): Promise<void> {
  await retry(
    () =>
      dynamodb.send(
        new PutCommand({
          TableName: table,
          Item: { ...auditKey(entry.date, entry.at, randomUUID()), ...entry },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    awsRetry,
  );
}

/** The day's audit entries, newest first. */
export async function dayAudit(dynamodb: DynamoDBDocumentClient, table: string, date: string): Promise<AuditEntry[]> {
  const page = await retry(
    () =>
      dynamodb.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `${PARTITION_PREFIX.audit}${date}` },
          ScanIndexForward: false,
          Limit: maxDayEntries,
        }),
      ),
    awsRetry,
  );
  return (page.Items ?? []).map((item) => {
    const { at, who, action, date: day, executionId, detail } = item as AuditEntry;
    return { at, who, action, date: day, ...(executionId ? { executionId } : {}), ...(detail ? { detail } : {}) };
  });
}
