import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/**
 * A self-signed X.509 certificate and its RSA key, made here (DER by hand, signed with
 * node:crypto) so that no private key is kept in the repository. With `serverNames` it is a
 * version 3 certificate a TLS server can present and a client can trust as its own root: a CA
 * whose subject alternative names are those IP addresses and host names.
 */
export function selfSignedCertificate(
  commonName: string,
  serverNames: { ips?: number[][]; dns?: string[] } = {},
): {
  certificatePem: string;
  privateKeyPem: string;
  privateKey: KeyObject;
} {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256WithRsa = sequence(objectId([1, 2, 840, 113549, 1, 1, 11]), Buffer.from([0x05, 0x00]));
  const name = sequence(set(sequence(objectId([2, 5, 4, 3]), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
  const validity = sequence(utcTime('2020-01-01T00:00:00Z'), utcTime('2049-12-31T23:59:59Z'));
  // A positive serial, unique enough that two certificates of one name are never confused.
  const serial = tlv(0x02, Buffer.concat([Buffer.from([0x01]), randomBytes(8)]));
  const ips = serverNames.ips ?? [];
  const dns = serverNames.dns ?? [];
  const server = ips.length > 0 || dns.length > 0;
  const extensions = server
    ? [
        tlv(0xa0, tlv(0x02, Buffer.from([0x02]))),
        tlv(
          0xa3,
          sequence(
            // basicConstraints, critical: CA.
            sequence(
              objectId([2, 5, 29, 19]),
              tlv(0x01, Buffer.from([0xff])),
              tlv(0x04, sequence(tlv(0x01, Buffer.from([0xff])))),
            ),
            // subjectAltName: iPAddress [7], dNSName [2].
            sequence(
              objectId([2, 5, 29, 17]),
              tlv(
                0x04,
                sequence(
                  ...ips.map((ip) => tlv(0x87, Buffer.from(ip))),
                  ...dns.map((host) => tlv(0x82, Buffer.from(host, 'ascii'))),
                ),
              ),
            ),
          ),
        ),
      ]
    : [];
  const [version, extensionList] = extensions;
  const toBeSigned = sequence(
    ...(version ? [version] : []),
    serial,
    sha256WithRsa,
    name,
    validity,
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    ...(extensionList ? [extensionList] : []),
  );
  const signature = sign('sha256', toBeSigned, privateKey);
  const certificate = sequence(toBeSigned, sha256WithRsa, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return {
    certificatePem: pem('CERTIFICATE', certificate),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    privateKey,
  };
}

function tlv(tag: number, content: Buffer): Buffer {
  const length = content.byteLength;
  if (length < 0x80) return Buffer.concat([Buffer.from([tag, length]), content]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.concat([Buffer.from([tag, 0x80 | bytes.length, ...bytes]), content]);
}

function sequence(...parts: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(parts));
}

function set(...parts: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(parts));
}

function objectId(arcs: number[]): Buffer {
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128: number[] = [];
    for (let value = arc; ; value = Math.floor(value / 128)) {
      base128.unshift((value % 128) | (base128.length > 0 ? 0x80 : 0));
      if (value < 128) break;
    }
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utcTime(iso: string): Buffer {
  const text = iso.replace(/[-:T]/g, '').slice(2, 14);
  return tlv(0x17, Buffer.from(`${text}Z`, 'ascii'));
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
