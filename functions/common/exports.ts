import type { Config, ExportSpec } from './config.ts';

/** Header cells compare equal ignoring case and surrounding spaces. */
export function normaliseHeader(cell: string): string {
  return cell
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ');
}

/**
 * The export type a header belongs to: the type whose columns are all present, the one
 * with the most columns when several fit (Dials' header contains IB_Calls' header).
 * ACQ, QCBS and RESC share a header, so for them only the name can tell.
 */
export function recogniseTypeFromHeader(header: readonly string[], config: Pick<Config, 'exports'>): ExportSpec[] {
  const present = new Set(header.map(normaliseHeader));
  const fits = config.exports.filter((spec) => spec.columns.every((c) => present.has(normaliseHeader(c.name))));
  const widest = Math.max(0, ...fits.map((spec) => spec.columns.length));
  return fits.filter((spec) => spec.columns.length === widest);
}

/** The export type named by a file or attachment name, by the configured patterns or a `<Type>__…` prefix. */
export function recogniseTypeFromName(name: string, config: Pick<Config, 'exports'>): ExportSpec | undefined {
  const base = name.split(/[\\/]/).pop() ?? name;
  const prefix = /^([A-Za-z][A-Za-z0-9_]*?)__/.exec(base)?.[1]?.toLowerCase();
  if (prefix) {
    const byPrefix = config.exports.find((spec) => spec.type.toLowerCase() === prefix);
    if (byPrefix) return byPrefix;
  }
  return config.exports.find((spec) => new RegExp(spec.match.attachment, 'i').test(base));
}

/** What a type's mail rules read of the configuration: the mailbox's accepted senders. */
export type MailRules = { mailbox: Pick<Config['mailbox'], 'senders'> };

/** A type's own senders override the mailbox's; an empty list accepts anyone. */
export function acceptsSender(spec: ExportSpec, sender: string | undefined, config: MailRules): boolean {
  const senders = spec.match.senders ?? config.mailbox.senders;
  if (senders.length === 0) return true;
  return sender !== undefined && senders.some((s) => s.toLowerCase() === sender.toLowerCase());
}

/** Why a type's rules reject a message, or undefined when they accept it. */
export function matchFailure(
  spec: ExportSpec,
  message: { from: string | undefined; subject: string },
  config: MailRules,
): string | undefined {
  if (!acceptsSender(spec, message.from, config)) {
    return `sender ${message.from ?? '(none)'} is not accepted for ${spec.type}`;
  }
  if (spec.match.subject && !new RegExp(spec.match.subject, 'i').test(message.subject)) {
    return `the subject does not match ${spec.type}`;
  }
  return undefined;
}

export function exportSpec(config: Config, type: string): ExportSpec {
  const spec = config.exports.find((e) => e.type === type);
  if (!spec) throw new Error(`Unknown export type ${type}: not in the configuration's exports`);
  return spec;
}
