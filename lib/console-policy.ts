/**
 * What the console's hosting promises the browser, in one place: the CloudFront response headers
 * (lib/console.ts) and the local console server (local/console/server.ts) send the same, so the
 * app is tested locally under the policy it is deployed with.
 */

/** The Content-Security-Policy: scripts and styles from the app's own origin only (no 'unsafe-inline'), calls to the API and the issuer. */
export function contentSecurityPolicy(connect: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${connect.join(' ')}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** HSTS: two years, subdomains too. */
export const strictTransportSecurity = { maxAgeSeconds: 63_072_000, includeSubdomains: true } as const;

/** The headers the app's responses carry. */
export function securityHeaders(connect: readonly string[]): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(connect),
    'strict-transport-security': `max-age=${strictTransportSecurity.maxAgeSeconds}; includeSubDomains`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

/** The API's CORS: the console's origin only, with its bearer token. */
export const apiCors = {
  allowMethods: ['GET', 'POST', 'OPTIONS'],
  allowHeaders: ['authorization', 'content-type'],
  exposeHeaders: ['content-disposition'],
  maxAgeSeconds: 600,
} as const;
