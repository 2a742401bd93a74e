import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Resources } from '../common/clients.ts';
import type { Config } from '../common/config.ts';
import type {
  DeliverInput,
  DeliveryResult,
  ExecutionStatusChange,
  FailureInput,
  Run,
  RunInput,
} from '../common/contracts.ts';
import { recordDayDelivered, recordDayFailed } from '../common/day-status.ts';
import { TransientError } from '../common/errors.ts';
import { deliveryKey, sentMessageKey } from '../common/keys.ts';
import { linkUrl, signLinkToken } from '../common/link-token.ts';
import { logger } from '../common/observability.ts';
import { isTransientAwsError, retry } from '../common/retry.ts';
import { isDate, localDate, previousLocalDate } from '../common/time.ts';
import { notifyAlerts } from './alerts.ts';
import {
  type ComposedMessage,
  composeFailureMessage,
  composeMissingExportsAlert,
  composeReportMessage,
  executionConsoleUrl,
  type ReportKind,
} from './message.ts';
import { failureCard, postToTeams, summaryCard, type TeamsDeps } from './teams.ts';

export interface DeliverDeps {
  config: Config;
  s3: S3Client;
  sesv2: SESv2Client;
  dynamodb: DynamoDBDocumentClient;
  resources: Resources;
  /** Download links: the link endpoint's address and the key that signs its tokens. */
  links: { baseUrl: string; signingKey: () => Promise<string> };
  /** The SES configuration set that records bounces and complaints; none on the local stack. */
  configurationSet?: string;
  /** The Teams channel's webhook, when `teams` is configured. */
  teams?: TeamsDeps;
  now?: () => Date;
}

/** One message sent: what, to whom, from which workbook version, by which execution. */
export interface SentMessage {
  kind: ReportKind | 'missing-exports' | 'alerts';
  date: string;
  messageId: string;
  recipients: string[];
  bucket: string;
  reportKey: string;
  /** The S3 version (or ETag when the bucket is not versioned) of the workbook sent; reports only. */
  version?: string;
  attached: boolean;
  forced: boolean;
  sentAt: string;
  executionId: string;
}

/**
 * The DynamoDB item that makes a message go out once per slot (see `deliveryKey`): `sent` is the
 * last message sent, `claim` an execution sending right now. `revision` orders the writes.
 */
export interface DeliveryRecord {
  pk: string;
  sk: string;
  revision: number;
  claim?: { executionId: string; at: string };
  sent?: SentMessage;
}

/** Longer than a deliver invocation may run: an older claim was left by an invocation that died. */
const claimLeaseMs = 5 * 60_000;

const awsRetry = { retryable: isTransientAwsError };

/**
 * Emails the day's report once (again only when forced), tells the admins once when a finished
 * day has missing exports, or tells them that an execution failed.
 */
export async function deliver(input: DeliverInput | FailureInput, deps: DeliverDeps): Promise<DeliveryResult> {
  return isFailure(input) ? notifyFailure(input, deps) : deliverReport(input, deps);
}

function isFailure(input: DeliverInput | FailureInput): input is FailureInput {
  return 'kind' in input && input.kind === 'failure';
}

export function isStatusChange(event: object): event is ExecutionStatusChange {
  return 'detail-type' in event && event['detail-type'] === 'Step Functions Execution Status Change';
}

/** How the ends without an error of their own are named and told. */
const unexplainedEnds: Partial<Record<ExecutionStatusChange['detail']['status'], { error: string; cause: string }>> = {
  TIMED_OUT: { error: 'States.Timeout', cause: 'The execution timed out (the state machine allows it two hours).' },
  ABORTED: { error: 'Aborted', cause: 'The execution was stopped (StopExecution, from the console or a script).' },
};

/** What the admins are told of an execution that ended without success, from EventBridge's event. */
export function failureNotice(change: ExecutionStatusChange): FailureInput {
  const { detail } = change;
  let input: unknown = detail.input;
  try {
    input = detail.input === null ? null : JSON.parse(detail.input);
  } catch {
    // Kept as text: the notice shows what the execution was started with either way.
  }
  const end = unexplainedEnds[detail.status];
  const error = detail.error ?? end?.error ?? detail.status;
  const cause = detail.cause ?? end?.cause ?? 'No cause given.';
  return { kind: 'failure', executionId: detail.executionArn, input, error: { Error: error, Cause: cause } };
}

/** A report sent before the collection window closes (the day plus its grace period) shows the day so far. */
function reportKind(run: Run, at: Date): ReportKind {
  return at.getTime() < Date.parse(run.window.end) ? 'intraday' : 'daily';
}

async function deliverReport(input: DeliverInput, deps: DeliverDeps): Promise<DeliveryResult> {
  const { run, report } = input;
  const at = (deps.now ?? (() => new Date()))();
  const kind = reportKind(run, at);
  // Every intraday run shows a different moment of the day, so each execution sends its own once.
  const reportSlot = deliveryKey(run.date, kind === 'daily' ? 'DAILY' : `INTRADAY#${run.executionId.split(':').pop()}`);

  let result: DeliveryResult;
  const reportClaim = await claim(deps, reportSlot, run, at);
  if (reportClaim.claimed) {
    const sent = await sendReport(input, deps, kind, at);
    await record(deps, reportSlot, reportClaim.revision, sent.record);
    if (kind === 'daily') await recordDayDelivered(deps.dynamodb, deps.resources.table, run.date, at);
    result = sent.result;
    // Posted once the email is recorded: a post that hangs cannot make a retry send the email twice.
    if (deps.config.teams?.postSummary && result.link) {
      const card = summaryCard(deps.config, report, { date: run.date, kind, link: result.link, sentAt: at });
      await postToTeams(deps.teams, card, 'summary');
    }
  } else {
    logger.info('report not sent', { date: run.date, slot: reportSlot.sk, reason: reportClaim.reason });
    result = { sent: false, reason: reportClaim.reason, recipients: [], attached: false, kind };
  }

  // During the day, exports still to come are not missing yet.
  if (kind === 'daily' && report.missing.length > 0) {
    const alertSlot = deliveryKey(run.date, 'MISSING');
    const alertClaim = await claim(deps, alertSlot, run, at);
    if (alertClaim.claimed) {
      const message = await composeMissingExportsAlert(deps.config, {
        date: run.date,
        report,
        executionId: run.executionId,
        sentAt: at,
      });
      const messageId = await send(deps, message);
      await record(deps, alertSlot, alertClaim.revision, {
        ...sentFor(input, at),
        kind: 'missing-exports',
        messageId,
        recipients: message.to,
        attached: false,
      });
      logger.warn('missing exports; admins alerted', { date: run.date, missing: report.missing, messageId });
      result = { ...result, alertMessageId: messageId };
    }
  }
  const alerts = await notifyAlerts(input, deps, at);
  return alerts ? { ...result, alerts } : result;
}

async function sendReport(
  input: DeliverInput,
  deps: DeliverDeps,
  kind: ReportKind,
  at: Date,
): Promise<{ result: DeliveryResult; record: SentMessage }> {
  const { config } = deps;
  const { run, report } = input;
  const { bucket, key: objectKey, bytes } = report.workbook;
  const attach = bytes <= config.delivery.attachMaxBytes;
  const workbook = attach
    ? await downloadWorkbook(deps.s3, bucket, objectKey)
    : await headWorkbook(deps.s3, bucket, objectKey);

  // The link names the workbook version sent; the link endpoint checks it and presigns a fresh S3 URL.
  const linkExpiresAt = new Date(
    Math.floor((at.getTime() + config.delivery.linkExpiryHours * 3_600_000) / 1000) * 1000,
  );
  const token = signLinkToken(
    {
      key: objectKey,
      ...(workbook.versionId ? { versionId: workbook.versionId } : {}),
      expiresAt: linkExpiresAt.getTime(),
    },
    await deps.links.signingKey(),
  );
  const link = linkUrl(deps.links.baseUrl, token);

  const message = await composeReportMessage(config, {
    date: run.date,
    kind,
    report,
    executionId: run.executionId,
    link,
    linkExpiresAt,
    ...(workbook.body ? { attachment: workbook.body } : {}),
    sentAt: at,
  });
  const messageId = await send(deps, message);
  const recipients = [...message.to, ...message.cc, ...message.bcc];
  logger.info('report delivered', {
    date: run.date,
    kind,
    executionId: run.executionId,
    messageId,
    recipients: recipients.length,
    attached: attach,
    bytes,
    forced: run.force,
  });
  return {
    result: { sent: true, messageId, recipients, attached: attach, link, kind },
    record: { ...sentFor(input, at), kind, messageId, recipients, version: workbook.version, attached: attach },
  };
}

/** The fields of a sent message that come from the run and its workbook. */
function sentFor(
  input: DeliverInput,
  at: Date,
): Pick<SentMessage, 'date' | 'forced' | 'executionId' | 'bucket' | 'reportKey' | 'sentAt'> {
  const { run, report } = input;
  return {
    date: run.date,
    forced: run.force,
    executionId: run.executionId,
    bucket: report.workbook.bucket,
    reportKey: report.workbook.key,
    sentAt: at.toISOString(),
  };
}

type Claim = { claimed: true; revision: number } | { claimed: false; reason: string };

/**
 * Takes the slot for this execution, or says why it must not send. A conditional write on the
 * revision read makes two executions racing for the same slot send once: the loser retries.
 */
export async function claim(deps: DeliverDeps, key: { pk: string; sk: string }, run: Run, at: Date): Promise<Claim> {
  const table = deps.resources.table;
  const existing = await retry(
    () => deps.dynamodb.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })),
    awsRetry,
  );
  const current = existing.Item as DeliveryRecord | undefined;
  const sent = current?.sent;
  if (sent?.executionId === run.executionId) {
    return { claimed: false, reason: `already sent by this execution at ${sent.sentAt} (message ${sent.messageId})` };
  }
  const other = current?.claim;
  if (other && other.executionId !== run.executionId && at.getTime() - Date.parse(other.at) < claimLeaseMs) {
    throw new TransientError(`${other.executionId} is sending ${key.sk} for ${run.date} right now`);
  }
  if (sent && !run.force) {
    return {
      claimed: false,
      reason: `already delivered at ${sent.sentAt} (message ${sent.messageId}); run with force to send again`,
    };
  }
  const revision = (current?.revision ?? 0) + 1;
  const claimed: DeliveryRecord = {
    ...current,
    ...key,
    revision,
    claim: { executionId: run.executionId, at: at.toISOString() },
  };
  try {
    await retry(
      () =>
        deps.dynamodb.send(
          new PutCommand({
            TableName: table,
            Item: claimed,
            ...(current
              ? {
                  ConditionExpression: '#revision = :read',
                  ExpressionAttributeNames: { '#revision': 'revision' },
                  ExpressionAttributeValues: { ':read': current.revision },
                }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        ),
      awsRetry,
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    throw new TransientError(`another execution took ${key.sk} for ${run.date} at the same moment`);
  }
  return { claimed: true, revision };
}

/** Keeps what was sent in the slot (releasing the claim) and in the day's history of messages. */
async function record(
  deps: DeliverDeps,
  key: { pk: string; sk: string },
  claimedRevision: number,
  sent: SentMessage,
): Promise<void> {
  const table = deps.resources.table;
  const slot: DeliveryRecord = { ...key, revision: claimedRevision + 1, sent };
  await retry(() => deps.dynamodb.send(new PutCommand({ TableName: table, Item: slot })), awsRetry);
  const history = { ...sentMessageKey(sent.date, sent.sentAt, sent.messageId), ...sent };
  await retry(() => deps.dynamodb.send(new PutCommand({ TableName: table, Item: history })), awsRetry);
}

async function notifyFailure(input: FailureInput, deps: DeliverDeps): Promise<DeliveryResult> {
  const now = deps.now ?? (() => new Date());
  const message = await composeFailureMessage(deps.config, input, now());
  const messageId = await send(deps, message);
  const date = failedDate(input, deps.config.timeZone);
  if (date) {
    await recordDayFailed(deps.dynamodb, deps.resources.table, date, {
      at: now().toISOString(),
      executionId: input.executionId,
      error: input.error.Error ?? 'unknown',
    });
  }
  if (deps.config.teams?.postFailures) {
    await postToTeams(deps.teams, failureCard(input, executionConsoleUrl(input.executionId)), 'failure');
  }
  logger.error('execution failed; admins notified', {
    executionId: input.executionId,
    error: input.error.Error,
    messageId,
  });
  return { sent: true, messageId, recipients: message.to, attached: false };
}

/** The business day a failed execution was for, when its input names it or its schedule implies it. */
function failedDate(input: FailureInput, timeZone: string): string | undefined {
  const run = (input.input ?? {}) as RunInput;
  if (typeof run.date === 'string') return isDate(run.date) ? run.date : undefined;
  const scheduled = typeof run.scheduledTime === 'string' ? Date.parse(run.scheduledTime) : Number.NaN;
  if (Number.isNaN(scheduled)) return undefined;
  return run.intraday ? localDate(scheduled, timeZone) : previousLocalDate(scheduled, timeZone);
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
export async function send(deps: DeliverDeps, message: ComposedMessage): Promise<string> {
  const result = await retry(
    () =>
      deps.sesv2.send(
        new SendEmailCommand({
          FromEmailAddress: deps.config.delivery.from,
          Destination: {
            ToAddresses: message.to,
            ...(message.cc.length > 0 ? { CcAddresses: message.cc } : {}),
            ...(message.bcc.length > 0 ? { BccAddresses: message.bcc } : {}),
          },
          Content: { Raw: { Data: message.raw } },
          ...(deps.configurationSet ? { ConfigurationSetName: deps.configurationSet } : {}),
        }),
      ),
    awsRetry,
  );
  if (!result.MessageId) throw new Error('SES accepted the message without a message id');
  return result.MessageId;
}
