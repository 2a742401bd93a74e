import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * A JSON secret from Secrets Manager, cached across invocations of a warm function and read
 * again after `maxAgeMs`, so that a rotated secret is picked up without a redeploy.
 */
export function cachedSecret<T>(
  client: SecretsManagerClient,
  name: string,
  /** The secret's value from its parsed JSON, or undefined when it is not of the expected shape. */
  read: (json: unknown) => T | undefined,
  example: string,
  maxAgeMs = 15 * 60_000,
): () => Promise<T> {
  let cached: { value: Promise<T>; readAt: number } | undefined;
  const fetchSecret = async (): Promise<T> => {
    const secret = await client.send(new GetSecretValueCommand({ SecretId: name }));
    let parsed: unknown;
    try {
      parsed = JSON.parse(secret.SecretString ?? '');
    } catch {
      parsed = undefined;
    }
    const value = read(parsed);
    if (value === undefined) throw new Error(`Secret ${name} must be JSON like ${example}`);
    return value;
  };
  return () => {
    if (!cached || Date.now() - cached.readAt > maxAgeMs) {
      const value = fetchSecret();
      // A failed read is not cached: the next invocation tries again.
      value.catch(() => {
        cached = undefined;
      });
      cached = { value, readAt: Date.now() };
    }
    return cached.value;
  };
}
