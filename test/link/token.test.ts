import { describe, expect, it } from 'vitest';
import {
  linkKeySecretName,
  linkUrl,
  readLinkKeySecret,
  signLinkToken,
  verifyLinkToken,
} from '../../functions/common/link-token.ts';

const key = 'a'.repeat(64);
const claims = {
  key: 'reports/2026-03-09/Charlie-Intraday-2026-03-09.xlsx',
  versionId: 'Kp8.3vQ_version',
  expiresAt: Date.parse('2026-03-16T12:00:00Z'),
};
const before = Date.parse('2026-03-16T11:59:59Z');

describe('link tokens', () => {
  it('carry the workbook key, its version and the expiry, signed', () => {
    const token = signLinkToken(claims, key);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyLinkToken(token, key, before)).toEqual({ valid: true, claims });

    const unversioned = { key: claims.key, expiresAt: claims.expiresAt };
    expect(verifyLinkToken(signLinkToken(unversioned, key), key, before)).toEqual({
      valid: true,
      claims: unversioned,
    });
  });

  it('expire at the instant signed, to the second', () => {
    const token = signLinkToken({ ...claims, expiresAt: claims.expiresAt + 999 }, key);
    expect(verifyLinkToken(token, key, claims.expiresAt - 1).valid).toBe(true);
    expect(verifyLinkToken(token, key, claims.expiresAt)).toEqual({ valid: false, reason: 'expired', claims });
  });

  it('refuse every change to any character', () => {
    const token = signLinkToken(claims, key);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < token.length; i++) {
      if (token[i] === '.') continue;
      const replacement = alphabet[(alphabet.indexOf(token[i] ?? 'A') + 1) % alphabet.length];
      const changed = `${token.slice(0, i)}${replacement}${token.slice(i + 1)}`;
      expect(verifyLinkToken(changed, key, before).valid, `character ${i}`).toBe(false);
    }
  });

  it('refuse a payload changed to name another workbook as invalid, not revoked', () => {
    const [payload = ''] = signLinkToken(claims, key).split('.');
    const other = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    other.k = 'reports/2026-03-10/Charlie-Intraday-2026-03-10.xlsx';
    const forged = `${Buffer.from(JSON.stringify(other)).toString('base64url')}.${signLinkToken(claims, key).split('.')[1]}`;
    expect(verifyLinkToken(forged, key, before)).toEqual({ valid: false, reason: 'invalid' });
  });

  it('signed with a replaced key are revoked', () => {
    const token = signLinkToken(claims, key);
    expect(verifyLinkToken(token, 'b'.repeat(64), before)).toEqual({ valid: false, reason: 'revoked' });
  });

  it('that are not tokens at all are invalid', () => {
    for (const text of [
      '',
      'abc',
      'a.b',
      `${'a'.repeat(3000)}.${'b'.repeat(43)}`,
      `x.${'b'.repeat(43)}.c`,
      '%%%.%%%',
    ]) {
      expect(verifyLinkToken(text, key, before)).toEqual({ valid: false, reason: 'invalid' });
    }
  });

  it('go in the link endpoint address as its t parameter', () => {
    const url = linkUrl('https://abc.lambda-url.eu-west-1.on.aws/', 'x.y');
    expect(url).toBe('https://abc.lambda-url.eu-west-1.on.aws/?t=x.y');
    expect(new URL(url).searchParams.get('t')).toBe('x.y');
  });
});

describe('the link key secret', () => {
  it('is named after the deployment and holds a key of at least 32 characters', () => {
    expect(linkKeySecretName({ name: 'charlie' })).toBe('charlie/link-key');
    expect(readLinkKeySecret({ key: key })).toBe(key);
    expect(readLinkKeySecret({ key: 'short' })).toBeUndefined();
    expect(readLinkKeySecret({ other: key })).toBeUndefined();
    expect(readLinkKeySecret(undefined)).toBeUndefined();
  });
});
