import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../functions/common/config.ts';
import { reportKey } from '../functions/common/keys.ts';
import { linkKeySecretName, linkUrl, readLinkKeySecret, signLinkToken } from '../functions/common/link-token.ts';
import type { StackOutputs } from './stack-outputs.ts';

export interface FreshLink {
  url: string;
  expiresAt: Date;
  key: string;
  versionId: string | undefined;
}

/**
 * A new download link for a day's workbook, signed as delivery signs one (the same key, the
 * same token): for a link that expired, or for a workbook rebuilt after it was mailed (the
 * emailed link opens the version that was sent). The link names the current version.
 */
export async function freshLink(
  // A local stack gives its link key directly: it has no Secrets Manager.
  clients: { s3: S3Client } & ({ secrets: SecretsManagerClient } | { signingKey: string }),
  config: Config,
  outputs: Pick<StackOutputs, 'ReportsBucketName' | 'DownloadLinkUrl'>,
  options: { date: string; intradayTime?: string; hours?: number; now?: number },
): Promise<FreshLink> {
  const key = reportKey(options.date, options.intradayTime);
  let versionId: string | undefined;
  try {
    const head = await clients.s3.send(new HeadObjectCommand({ Bucket: outputs.ReportsBucketName, Key: key }));
    versionId = head.VersionId && head.VersionId !== 'null' ? head.VersionId : undefined;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (error as Error).name === 'NotFound') {
      throw new NoReportError(
        `No report for ${options.date}${options.intradayTime ? ` at ${options.intradayTime}` : ''} yet (s3://${outputs.ReportsBucketName}/${key}): run \`charlie rerun --date ${options.date}\` first.`,
      );
    }
    throw error;
  }
  const signingKey = 'signingKey' in clients ? clients.signingKey : await linkKeyFromSecret(clients.secrets, config);
  const hours = options.hours ?? config.delivery.linkExpiryHours;
  const expiresAt = new Date(Math.floor(((options.now ?? Date.now()) + hours * 3_600_000) / 1000) * 1000);
  const token = signLinkToken({ key, ...(versionId ? { versionId } : {}), expiresAt: expiresAt.getTime() }, signingKey);
  return { url: linkUrl(outputs.DownloadLinkUrl, token), expiresAt, key, versionId };
}

async function linkKeyFromSecret(secrets: SecretsManagerClient, config: Config): Promise<string> {
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: linkKeySecretName(config) }));
  const signingKey = readLinkKeySecret(JSON.parse(secret.SecretString ?? '{}'));
  if (!signingKey) throw new Error(`The secret ${linkKeySecretName(config)} holds no usable link key.`);
  return signingKey;
}

export class NoReportError extends Error {
  override name = 'NoReportError';
}
