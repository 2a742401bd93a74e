/**
 * The app registration's credential, as stored in Secrets Manager: a client secret, or a
 * certificate and its private key (PEM) to sign a client assertion with. Collect reads the
 * mailbox with it, and deliver uploads the workbook to SharePoint with the same one.
 */
export type GraphCredential = { clientSecret: string } | { certificatePem: string; privateKeyPem: string };

export const graphCredentialExample =
  '{"clientSecret":"..."} or {"certificatePem":"-----BEGIN CERTIFICATE-----...","privateKeyPem":"-----BEGIN PRIVATE KEY-----..."}';

/** The credential in a secret's parsed JSON, or undefined when it holds neither form. */
export function readGraphCredential(json: unknown): GraphCredential | undefined {
  const fields =
    typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const clientSecret = text(fields.clientSecret);
  if (clientSecret) return { clientSecret };
  const certificatePem = text(fields.certificatePem);
  const privateKeyPem = text(fields.privateKeyPem);
  if (certificatePem?.includes('BEGIN CERTIFICATE') && privateKeyPem?.includes('PRIVATE KEY')) {
    return { certificatePem, privateKeyPem };
  }
  return undefined;
}
