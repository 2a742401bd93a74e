import { constants, type KeyObject, randomUUID, sign, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readGraphCredential } from '../../functions/common/graph/credential.ts';
import { selfSignedCertificate } from '../../local/certificate.ts';
import { config, csvMessage, useHarness } from './harness.ts';

const h = useHarness();
const app = selfSignedCertificate('Charlie Reporting');
const stranger = selfSignedCertificate('Someone else');
const { tenantId, clientId } = config.mailbox;

function decode(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
}

/** The SHA-256 thumbprint of a certificate as a JWT header carries it. */
function thumbprint(certificatePem: string): string {
  return Buffer.from(new X509Certificate(certificatePem).fingerprint256.replace(/:/g, ''), 'hex').toString('base64url');
}

describe('certificate credentials', () => {
  it("gets a token with a client assertion signed by the certificate's key", async () => {
    const fake = await h.fakeGraph({ messages: [csvMessage('one')], clientCertificatePem: app.certificatePem });
    const mail = h.graphSource(fake, {
      credential: { certificatePem: app.certificatePem, privateKeyPem: app.privateKeyPem },
    });
    const result = await h.run(mail);
    expect(result.mail.attachmentsStored).toBe(1);

    const forms = fake.requests.flatMap((r) => (r.path.endsWith('/oauth2/v2.0/token') && r.form ? [r.form] : []));
    expect(forms).toHaveLength(1);
    const form = forms[0] ?? {};
    expect(form.client_secret).toBeUndefined();
    expect(form.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const [header, claims] = (form.client_assertion ?? '').split('.');
    expect(decode(header)).toMatchObject({ alg: 'PS256', typ: 'JWT', 'x5t#S256': thumbprint(app.certificatePem) });
    const payload = decode(claims);
    expect(payload).toMatchObject({
      aud: `${fake.authorityHost}/${tenantId}/oauth2/v2.0/token`,
      iss: clientId,
      sub: clientId,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(Number(payload.exp) - Number(payload.nbf)).toBe(600);
  });

  it('is refused by the token endpoint when the certificate is not the one registered', async () => {
    const fake = await h.fakeGraph({ messages: [csvMessage('one')], clientCertificatePem: app.certificatePem });
    const mail = h.graphSource(fake, {
      credential: { certificatePem: stranger.certificatePem, privateKeyPem: stranger.privateKeyPem },
    });
    await expect(h.run(mail)).rejects.toThrow(
      `Could not get a Microsoft Graph token for app ${clientId} in tenant ${tenantId}: invalid_client ` +
        '(AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.)',
    );
  });

  it('refuses a private key that is not the certificate’s before asking for a token', async () => {
    const fake = await h.fakeGraph({ messages: [csvMessage('one')], clientCertificatePem: app.certificatePem });
    const mail = h.graphSource(fake, {
      credential: { certificatePem: app.certificatePem, privateKeyPem: stranger.privateKeyPem },
    });
    await expect(h.run(mail)).rejects.toThrow(
      'The Graph private key does not belong to the certificate stored with it',
    );
    expect(fake.requests).toHaveLength(0);
  });
});

describe('fake token endpoint', () => {
  async function requestToken(tokenUrl: string, key: KeyObject, claims: Record<string, unknown> = {}) {
    const seconds = Math.floor(Date.now() / 1000);
    const encode = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');
    const signed = `${encode({ alg: 'PS256', typ: 'JWT', 'x5t#S256': thumbprint(app.certificatePem) })}.${encode({
      aud: tokenUrl,
      iss: clientId,
      sub: clientId,
      jti: randomUUID(),
      nbf: seconds,
      exp: seconds + 600,
      ...claims,
    })}`;
    const signature = sign('sha256', Buffer.from(signed), {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }).toString('base64url');
    const response = await fetch(tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: clientId,
        scope: 'https://graph.microsoft.com/.default',
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: `${signed}.${signature}`,
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it("verifies the assertion's signature with the registered certificate, and its audience and time", async () => {
    const fake = await h.fakeGraph({ messages: [], clientCertificatePem: app.certificatePem });
    const tokenUrl = `${fake.authorityHost}/${tenantId}/oauth2/v2.0/token`;

    const good = await requestToken(tokenUrl, app.privateKey);
    expect(good).toMatchObject({ status: 200, body: { token_type: 'Bearer', access_token: expect.any(String) } });

    const forged = await requestToken(tokenUrl, stranger.privateKey);
    expect(forged).toMatchObject({
      status: 401,
      body: {
        error: 'invalid_client',
        error_description: 'AADSTS700027: Client assertion failed signature validation.',
      },
    });
    const elsewhere = await requestToken(tokenUrl, app.privateKey, { aud: 'https://login.example/token' });
    expect(elsewhere.body.error_description).toMatch(/^AADSTS700021: Client assertion audience claim does not match/);
    const expired = await requestToken(tokenUrl, app.privateKey, { exp: Math.floor(Date.now() / 1000) - 3600 });
    expect(expired.body.error_description).toBe('AADSTS700024: Client assertion is not within its valid time range.');
  });
});

describe('the Graph secret', () => {
  it('holds a client secret, or a certificate and its private key', () => {
    expect(readGraphCredential({ clientSecret: 's3cret' })).toEqual({ clientSecret: 's3cret' });
    expect(readGraphCredential({ certificatePem: app.certificatePem, privateKeyPem: app.privateKeyPem })).toEqual({
      certificatePem: app.certificatePem,
      privateKeyPem: app.privateKeyPem,
    });
    for (const wrong of [
      { clientSecret: '' },
      { certificatePem: app.certificatePem },
      { certificatePem: 'thumbprint', privateKeyPem: 'key' },
      'a bare string',
      undefined,
    ]) {
      expect(readGraphCredential(wrong)).toBeUndefined();
    }
  });
});
