import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Download-link tokens. The email links to the link endpoint with a token naming the workbook
 * and an expiry, signed with HMAC-SHA256 under a key kept in Secrets Manager; the endpoint checks
 * it and only then presigns a short-lived S3 URL. Replacing the key invalidates every token.
 *
 * Token: `<payload>.<signature>`, both base64url; the payload is JSON `{k, v?, e, i}` (S3 key,
 * version id, expiry in epoch seconds, id of the signing key).
 */

/** What a link stands for: one workbook, pinned to the version sent when the bucket keeps versions. */
export interface LinkClaims {
  /** S3 key of the workbook in the reports bucket. */
  key: string;
  versionId?: string;
  /** Milliseconds since the epoch (kept to the second). */
  expiresAt: number;
}

export type LinkCheck =
  | { valid: true; claims: LinkClaims }
  | { valid: false; reason: 'expired'; claims: LinkClaims }
  /** Signed with a key that has since been replaced. */
  | { valid: false; reason: 'revoked' }
  /** Not a token, or one whose contents or signature were changed. */
  | { valid: false; reason: 'invalid' };

interface Payload {
  k: string;
  v?: string;
  e: number;
  i: string;
}

/** Shorter keys are refused: the stack generates 64 characters. */
export const minLinkKeyLength = 32;

/** The link key's secret, created by the stack, read by deliver (to sign) and the link function (to check). */
export function linkKeySecretName(config: { name: string }): string {
  return `${config.name}/link-key`;
}

export const linkKeySecretExample = '{"key":"<64 random letters and digits>"}';

/** The key from the secret's JSON, for `cachedSecret`. */
export function readLinkKeySecret(json: unknown): string | undefined {
  const key = (json as { key?: unknown } | undefined)?.key;
  return typeof key === 'string' && key.length >= minLinkKeyLength ? key : undefined;
}

export function signLinkToken(claims: LinkClaims, signingKey: string): string {
  const payload: Payload = {
    k: claims.key,
    ...(claims.versionId ? { v: claims.versionId } : {}),
    e: Math.floor(claims.expiresAt / 1000),
    i: keyId(signingKey),
  };
  const encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${encoded}.${mac(encoded, signingKey).toString('base64url')}`;
}

/** `<payload>.<signature>` in base64url, the payload at most 2 KB of text: nothing longer is even decoded. */
const tokenPattern = /^([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{43})$/;

/**
 * Whether the text has a token's shape and a payload that reads as claims: checked without the
 * key, so that the endpoint refuses garbage before it reads anything from a store.
 */
export function isWellFormedLinkToken(token: string): boolean {
  const match = tokenPattern.exec(token);
  return match !== null && decode(match[1] ?? '') !== undefined;
}

export function verifyLinkToken(token: string, signingKey: string, nowMs: number): LinkCheck {
  const match = tokenPattern.exec(token);
  if (!match) return { valid: false, reason: 'invalid' };
  const [, encoded = '', signature = ''] = match;
  const payload = decode(encoded);
  // Compared as text, so that no other spelling of the same bytes (base64url's spare bits) passes.
  if (!timingSafeEqual(Buffer.from(mac(encoded, signingKey).toString('base64url')), Buffer.from(signature))) {
    // The payload is unauthenticated here: it only chooses which refusal to explain.
    return payload && payload.i !== keyId(signingKey)
      ? { valid: false, reason: 'revoked' }
      : { valid: false, reason: 'invalid' };
  }
  if (!payload) return { valid: false, reason: 'invalid' };
  const claims: LinkClaims = {
    key: payload.k,
    ...(payload.v ? { versionId: payload.v } : {}),
    expiresAt: payload.e * 1000,
  };
  return claims.expiresAt <= nowMs ? { valid: false, reason: 'expired', claims } : { valid: true, claims };
}

/** The address a recipient clicks: the link endpoint with the token. */
export function linkUrl(baseUrl: string, token: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('t', token);
  return url.toString();
}

function mac(encodedPayload: string, signingKey: string): Buffer {
  return createHmac('sha256', signingKey).update(`charlie-link.v1.${encodedPayload}`).digest();
}

/** Names the key without revealing it, so that a token signed with a replaced key is told apart from a forged one. */
function keyId(signingKey: string): string {
  return createHash('sha256').update(`charlie-link-key-id.${signingKey}`).digest('base64url').slice(0, 8);
}

function decode(encoded: string): Payload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const p = value as Partial<Payload> | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.k !== 'string' ||
    p.k === '' ||
    typeof p.e !== 'number' ||
    !Number.isSafeInteger(p.e) ||
    typeof p.i !== 'string' ||
    (p.v !== undefined && typeof p.v !== 'string')
  ) {
    return undefined;
  }
  return { k: p.k, e: p.e, i: p.i, ...(p.v ? { v: p.v } : {}) };
}
