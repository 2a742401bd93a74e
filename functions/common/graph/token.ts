import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { AuthError, ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import type { Config } from '../config.ts';
import type { GraphCredential } from './credential.ts';
import { GraphError, isTransientStatus } from './error.ts';

export interface TokenProviderOptions {
  mailbox: Pick<Config['mailbox'], 'tenantId' | 'clientId' | 'graphBaseUrl' | 'authorityHost'>;
  /** The app registration's credential, or how to read it when a token is first needed. */
  credential: GraphCredential | (() => Promise<GraphCredential>);
}

/** App-only access tokens for Microsoft Graph, from MSAL's client-credentials flow and its cache. */
export interface TokenProvider {
  /** A token from the cache while it has more than five minutes left, else a new one. */
  token(): Promise<string>;
  /** A new token, whatever the cache holds: Graph rejected the last one. */
  renew(): Promise<string>;
}

/**
 * The authority is the tenant under the cloud's login host and the scope the Graph
 * endpoint's `/.default`, so a national cloud needs only its two hosts configured.
 */
export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const { mailbox } = options;
  const scopes = [`${new URL(mailbox.graphBaseUrl).origin}/.default`];
  let application: Promise<ConfidentialClientApplication> | undefined;
  let pending: Promise<string> | undefined;

  function client(): Promise<ConfidentialClientApplication> {
    application ??= (async () => {
      const credential = typeof options.credential === 'function' ? await options.credential() : options.credential;
      return new ConfidentialClientApplication(msalConfiguration(mailbox, credential));
    })().catch((error: unknown) => {
      application = undefined;
      throw error;
    });
    return application;
  }

  function acquire(skipCache: boolean): Promise<string> {
    // One request at a time: callers waiting on a token share the one being fetched.
    pending ??= (async () => {
      const result = await (await client())
        .acquireTokenByClientCredential({ scopes, skipCache })
        .catch((error: unknown) => {
          throw tokenFailure(error, mailbox);
        });
      if (!result?.accessToken) {
        throw new GraphError('The token endpoint answered without an access token', {
          status: 200,
          code: 'InvalidTokenResponse',
        });
      }
      return result.accessToken;
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  return {
    token: () => acquire(false),
    renew: async () => {
      // A renewal already under way answers for every request the old token failed.
      if (pending) await pending.catch(() => undefined);
      return acquire(true);
    },
  };
}

function msalConfiguration(mailbox: TokenProviderOptions['mailbox'], credential: GraphCredential): Configuration {
  const authorityHost = new URL(mailbox.authorityHost);
  return {
    auth: {
      clientId: mailbox.clientId,
      authority: `${authorityHost.origin}/${encodeURIComponent(mailbox.tenantId)}`,
      // The configured login host is trusted as it is: its OpenID configuration is read from
      // it, without asking the public cloud's instance discovery about it.
      knownAuthorities: [authorityHost.host],
      ...('clientSecret' in credential
        ? { clientSecret: credential.clientSecret }
        : { clientCertificate: certificateCredential(credential) }),
    },
  };
}

/**
 * MSAL signs the client assertion (PS256) naming the certificate by its SHA-256 thumbprint
 * (`x5t#S256`); a key that is not the certificate's is refused here, before any request.
 */
function certificateCredential(credential: { certificatePem: string; privateKeyPem: string }) {
  try {
    const certificate = new X509Certificate(credential.certificatePem);
    if (!certificate.checkPrivateKey(createPrivateKey(credential.privateKeyPem))) {
      throw new GraphError('The Graph private key does not belong to the certificate stored with it', {
        status: 0,
        code: 'InvalidCredential',
      });
    }
    return {
      thumbprintSha256: createHash('sha256').update(certificate.raw).digest('hex'),
      privateKey: credential.privateKeyPem,
      x5c: credential.certificatePem,
    };
  } catch (error) {
    if (error instanceof GraphError) throw error;
    throw new GraphError(`The Graph certificate or its private key cannot be read: ${(error as Error).message}`, {
      status: 0,
      code: 'InvalidCredential',
    });
  }
}

/** A refused token request names the app and tenant, and Entra ID's reason (its first line). */
function tokenFailure(error: unknown, mailbox: TokenProviderOptions['mailbox']): GraphError {
  if (error instanceof GraphError) return error;
  const status = (error as { status?: unknown }).status;
  const httpStatus = typeof status === 'number' ? status : 0;
  const code = error instanceof AuthError ? error.errorCode : 'TokenRequestFailed';
  const description = error instanceof AuthError ? entraDescription(error.errorMessage) : String(error);
  return new GraphError(
    `Could not get a Microsoft Graph token for app ${mailbox.clientId} in tenant ${mailbox.tenantId}: ${code}${description ? ` (${description})` : ''}`,
    {
      status: httpStatus,
      code,
      // No answer, throttling or a server failure: worth another try later.
      transient: httpStatus === 0 ? isNetworkCode(code) : isTransientStatus(httpStatus),
    },
  );
}

/** MSAL writes Entra ID's error_description after `Description:`; its first line says what was wrong. */
function entraDescription(message: string): string {
  const described = /Description: (.*?)(?: - Correlation ID:|$)/s.exec(message)?.[1] ?? message;
  return described.split(/\r?\n/)[0]?.trim() ?? '';
}

function isNetworkCode(code: string): boolean {
  return code === 'network_error' || code === 'endpoints_resolution_error';
}
