import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isWellFormedLinkToken, type LinkCheck, verifyLinkToken } from '../common/link-token.ts';
import { logger } from '../common/observability.ts';
import { instantToIso } from '../common/time.ts';

/** An HTTP request to the link endpoint, from a Lambda function URL or the local server. */
export interface LinkRequest {
  method: string;
  query: Record<string, string | undefined>;
}

export type LinkOutcome = 'redirected' | 'invalid' | 'revoked' | 'expired' | 'gone' | 'unavailable' | 'method';

export interface LinkResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  outcome: LinkOutcome;
}

export interface LinkDeps {
  s3: S3Client;
  /** The reports bucket: a token names a key, never a bucket. */
  bucket: string;
  /** The current link key (Secrets Manager in AWS, given directly on a laptop). */
  signingKey: () => Promise<string>;
  /** Where the people reading the pages are, for the times shown. */
  timeZone: string;
  now?: () => Date;
}

/** How long the S3 URL the endpoint redirects to works: enough to start the download, not to share. */
export const downloadUrlSeconds = 300;

/**
 * Checks a download link's token and redirects to a freshly presigned S3 URL. The cheap checks
 * come first — method, the token's shape and size, then its signature and expiry — and only a
 * genuine, current token leads to S3. Every refusal is a small page a person can read — never
 * S3's XML error — and the promise never rejects.
 */
export async function handleLinkRequest(request: LinkRequest, deps: LinkDeps): Promise<LinkResponse> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const response = page('method', 405, 'Open this link in a browser', [
      'This address only answers a browser opening a download link.',
    ]);
    return { ...response, headers: { ...response.headers, Allow: 'GET, HEAD' } };
  }
  const token = request.query.t ?? '';
  if (!isWellFormedLinkToken(token)) {
    logger.info('download link refused', { reason: 'invalid' });
    return refusal({ valid: false, reason: 'invalid' }, deps.timeZone);
  }
  try {
    const nowMs = (deps.now ?? (() => new Date()))().getTime();
    const check = verifyLinkToken(token, await deps.signingKey(), nowMs);
    if (!check.valid) {
      logger.info('download link refused', { reason: check.reason });
      return refusal(check, deps.timeZone);
    }
    const { key, versionId } = check.claims;
    const version = versionId ? { VersionId: versionId } : {};
    try {
      await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key, ...version }));
    } catch (error) {
      if (!isMissing(error)) throw error;
      // Without s3:ListBucket, S3 answers a missing key with 403: the log keeps the difference.
      logger.warn('download link to a missing workbook', { key, versionId, error: (error as Error).name });
      return page('gone', 404, 'This workbook is no longer available', [
        `${fileName(key)} has been removed from storage.`,
        'Ask the team that sends the report for a copy.',
      ]);
    }
    const location = await getSignedUrl(
      deps.s3,
      new GetObjectCommand({
        Bucket: deps.bucket,
        Key: key,
        ...version,
        // The stored object carries its content type; the name is the workbook's, not the key's path.
        ResponseContentDisposition: `attachment; filename="${fileName(key)}"`,
      }),
      { expiresIn: downloadUrlSeconds },
    );
    logger.info('download link followed', { key, versionId });
    return { status: 302, headers: { ...commonHeaders, Location: location }, body: '', outcome: 'redirected' };
  } catch (error) {
    logger.error('download link failed', { error: error as Error });
    return page('unavailable', 503, 'The download is not available right now', [
      'Something went wrong on our side.',
      'Try the link again in a few minutes.',
    ]);
  }
}

function refusal(check: Exclude<LinkCheck, { valid: true }>, timeZone: string): LinkResponse {
  const later = 'Ask for the report to be sent again, or use the link in a newer report email.';
  switch (check.reason) {
    case 'expired': {
      const until = instantToIso(check.claims.expiresAt, timeZone).slice(0, 16).replace('T', ' ');
      return page('expired', 410, 'This download link has expired', [
        `The link to ${fileName(check.claims.key)} worked until ${until} (${timeZone} time).`,
        `Links in report emails work for a limited time. ${later}`,
      ]);
    }
    case 'revoked':
      return page('revoked', 410, 'This download link has been withdrawn', [
        'The links in earlier report emails were cancelled when their signing key was replaced.',
        later,
      ]);
    case 'invalid':
      return page('invalid', 403, 'This download link does not work', [
        'The address is incomplete or has been changed; this happens when a long link is cut or copied in pieces.',
        'Open the link straight from the report email. If that fails too, ask for the report to be sent again.',
      ]);
  }
}

const commonHeaders = {
  'Cache-Control': 'no-store',
  // The token is in the address: no page it leads to should see it.
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

function page(outcome: LinkOutcome, status: number, title: string, paragraphs: string[]): LinkResponse {
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head>
<body style="font-family:Segoe UI,Arial,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#222;line-height:1.5">
<h1 style="font-size:1.4em">${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
<p style="color:#666;font-size:0.9em">Charlie Reporting</p>
</body></html>
`;
  return {
    status,
    headers: {
      ...commonHeaders,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
    },
    body,
    outcome,
  };
}

function isMissing(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return ['NotFound', 'NoSuchKey', 'NoSuchVersion'].includes(name) || status === 404 || status === 403;
}

function fileName(key: string): string {
  return key.split('/').pop() ?? key;
}

function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );
}
