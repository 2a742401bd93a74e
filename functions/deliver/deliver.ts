import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Resources } from '../shared/clients.ts';
import type { Config } from '../shared/config.ts';
import type { DeliverInput, DeliveryResult, FailureInput } from '../shared/contracts.ts';
import { deliveryKey, workbookName } from '../shared/keys.ts';
import { logger } from '../shared/observability.ts';
import { isTransientAwsError, retry } from '../shared/retry.ts';
import { type ComposedMessage, composeFailureMessage, composeReportMessage } from './message.ts';

export interface DeliverDeps {
  config: Config;
  s3: S3Client;
  sesv2: SESv2Client;
  dynamodb: DynamoDBDocumentClient;
  resources: Resources;
  now?: () => Date;
}

/** The DynamoDB item that makes the daily delivery happen once: its presence means "sent". */
export interface DeliveryRecord {
  pk: string;
  sk: string;
  date: string;
  messageId: string;
  recipients: string[];
  bucket: string;
  reportKey: string;
  /** The S3 version (or ETag when the bucket is not versioned) of the workbook sent. */
  version: string;
  attached: boolean;
  forced: boolean;
  sentAt: string;
  executionId: string;
}

/** SigV4 presigned URLs live at most seven days. */
const maxLinkSeconds = 7 * 24 * 3600;

const awsRetry = { retryable: isTransientAwsError };

/** Emails the day's report once (again only when forced), or tells the admins that an execution failed. */
export async function deliver(input: DeliverInput | FailureInput, deps: DeliverDeps): Promise<DeliveryResult> {
  return isFailure(input) ? notifyFailure(input, deps) : deliverReport(input, deps);
}

export function isFailure(input: DeliverInput | FailureInput): input is FailureInput {
  return 'kind' in input && input.kind === 'failure';
}

async function deliverReport(input: DeliverInput, deps: DeliverDeps): Promise<DeliveryResult> {
  const { config, resources } = deps;
  const { run, report } = input;
  const now = deps.now ?? (() => new Date());
  const key = deliveryKey(run.date);

  if (!run.force) {
    const existing = await retry(
      () => deps.dynamodb.send(new GetCommand({ TableName: resources.table, Key: key, ConsistentRead: true })),
      awsRetry,
    );
    const previous = existing.Item as DeliveryRecord | undefined;
    if (previous) {
      logger.info('report already delivered', { date: run.date, messageId: previous.messageId });
      return {
        sent: false,
        reason: `already delivered at ${previous.sentAt} (message ${previous.messageId}); run with force to send again`,
        recipients: [],
        attached: false,
      };
    }
  }

  const { bucket, key: objectKey, bytes } = report.workbook;
  const attach = bytes <= config.delivery.attachMaxBytes;
  const workbook = attach
    ? await downloadWorkbook(deps.s3, bucket, objectKey)
    : await headWorkbook(deps.s3, bucket, objectKey);

  // Signed with the function's own credentials: in Lambda these are a role session, and the
  // link stops working when that session expires even if the expiry asked for is later.
  const expiresIn = Math.min(config.delivery.linkExpiryHours * 3600, maxLinkSeconds);
  const sentAt = now();
  const link = await getSignedUrl(
    deps.s3,
    new GetObjectCommand({
      Bucket: bucket,
      Key: objectKey,
      ...(workbook.versionId ? { VersionId: workbook.versionId } : {}),
      ResponseContentDisposition: `attachment; filename="${workbookName(run.date)}"`,
    }),
    { expiresIn },
  );

  const message = await composeReportMessage(config, {
    date: run.date,
    report,
    executionId: run.executionId,
    link,
    linkExpiresAt: new Date(sentAt.getTime() + expiresIn * 1000),
    ...(workbook.body ? { attachment: workbook.body } : {}),
    sentAt,
  });
  const messageId = await send(deps.sesv2, config.delivery.from, message);
  const recipients = [...message.to, ...message.cc, ...message.bcc];

  const record: DeliveryRecord = {
    ...key,
    date: run.date,
    messageId,
    recipients,
    bucket,
    reportKey: objectKey,
    version: workbook.version,
    attached: attach,
    forced: run.force,
    sentAt: sentAt.toISOString(),
    executionId: run.executionId,
  };
  await retry(() => deps.dynamodb.send(new PutCommand({ TableName: resources.table, Item: record })), awsRetry);

  logger.info('report delivered', {
    date: run.date,
    executionId: run.executionId,
    messageId,
    recipients: recipients.length,
    attached: attach,
    bytes,
    forced: run.force,
  });
  return { sent: true, messageId, recipients, attached: attach, link };
}

async function notifyFailure(input: FailureInput, deps: DeliverDeps): Promise<DeliveryResult> {
  const now = deps.now ?? (() => new Date());
  const message = await composeFailureMessage(deps.config, input, now());
  const messageId = await send(deps.sesv2, deps.config.delivery.from, message);
  logger.error('execution failed; admins notified', {
    executionId: input.executionId,
    error: input.error.Error,
    messageId,
  });
  return { sent: true, messageId, recipients: message.to, attached: false };
}

interface StoredWorkbook {
  body?: Uint8Array;
  versionId?: string;
  version: string;
}

async function downloadWorkbook(s3: S3Client, bucket: string, key: string): Promise<StoredWorkbook> {
  return retry(async () => {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!object.Body) throw new Error(`s3://${bucket}/${key} has no body`);
    return { body: await object.Body.transformToByteArray(), ...versionOf(object) };
  }, awsRetry);
}

async function headWorkbook(s3: S3Client, bucket: string, key: string): Promise<StoredWorkbook> {
  return versionOf(await retry(() => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), awsRetry));
}

function versionOf(object: { VersionId?: string; ETag?: string }): { versionId?: string; version: string } {
  // Unversioned buckets report the version "null"; the ETag then tells the content apart.
  const versionId = object.VersionId && object.VersionId !== 'null' ? object.VersionId : undefined;
  return { ...(versionId ? { versionId } : {}), version: versionId ?? object.ETag ?? 'unknown' };
}

/** Raw MIME keeps the attachment; the envelope lists Bcc, which the headers do not. */
async function send(sesv2: SESv2Client, from: string, message: ComposedMessage): Promise<string> {
  const result = await retry(
    () =>
      sesv2.send(
        new SendEmailCommand({
          FromEmailAddress: from,
          Destination: {
            ToAddresses: message.to,
            ...(message.cc.length > 0 ? { CcAddresses: message.cc } : {}),
            ...(message.bcc.length > 0 ? { BccAddresses: message.bcc } : {}),
          },
          Content: { Raw: { Data: message.raw } },
        }),
      ),
    awsRetry,
  );
  if (!result.MessageId) throw new Error('SES accepted the message without a message id');
  return result.MessageId;
}
