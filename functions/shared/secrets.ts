import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { z } from 'zod';

/**
 * A JSON secret from Secrets Manager, cached across invocations of a warm function and read
 * again after `maxAgeMs`, so that a rotated secret is picked up without a redeploy.
 */
export function cachedSecret<T>(
  client: SecretsManagerClient,
  name: string,
  schema: z.ZodType<T>,
  example: string,
  maxAgeMs = 15 * 60_000,
): () => Promise<T> {
  let cached: { value: Promise<T>; readAt: number } | undefined;
  const read = async (): Promise<T> => {
    const secret = await client.send(new GetSecretValueCommand({ SecretId: name }));
    let parsed: unknown;
    try {
      parsed = JSON.parse(secret.SecretString ?? '');
    } catch {
      parsed = undefined;
    }
    const result = schema.safeParse(parsed);
    if (!result.success) throw new Error(`Secret ${name} must be JSON like ${example}`);
    return result.data;
  };
  return () => {
    if (!cached || Date.now() - cached.readAt > maxAgeMs) {
      const value = read();
      // A failed read is not cached: the next invocation tries again.
      value.catch(() => {
        cached = undefined;
      });
      cached = { value, readAt: Date.now() };
    }
    return cached.value;
  };
}
