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

/**
 * Whether a sender rule accepts an address. A rule is an exact address
 * (`no-reply@mypurecloud.com`), a domain (`@mypurecloud.com`: that domain only) or a
 * subdomain pattern (`*.pure.cloud`: `usw2.pure.cloud`, `x.usw2.pure.cloud`, not `pure.cloud`
 * itself). Letter case never matters.
 */
export function senderRuleAccepts(rule: string, address: string): boolean {
  const wanted = rule.trim().toLowerCase();
  const sender = address.trim().toLowerCase();
  const at = sender.lastIndexOf('@');
  if (at < 1) return false;
  const domain = sender.slice(at + 1);
  if (wanted.startsWith('*.')) return domain.endsWith(wanted.slice(1));
  if (wanted.startsWith('@')) return domain === wanted.slice(1);
  return sender === wanted;
}

/** The rules a type's senders are checked against, and where they are configured. */
export function senderRules(spec: ExportSpec, config: MailRules): { rules: readonly string[]; setting: string } {
  return spec.match.senders
    ? { rules: spec.match.senders, setting: `exports[${spec.type}].match.senders` }
    : { rules: config.mailbox.senders, setting: 'mailbox.senders' };
}

/**
 * A type's own senders override the mailbox's; an empty list accepts anyone. Only the
 * sender's address decides: display names and Reply-To are not read.
 */
export function acceptsSender(spec: ExportSpec, sender: string | undefined, config: MailRules): boolean {
  const { rules } = senderRules(spec, config);
  if (rules.length === 0) return true;
  return sender !== undefined && rules.some((rule) => senderRuleAccepts(rule, sender));
}

/** What to change so that mail from `sender` is accepted where `setting` decides. */
export function senderFix(sender: string | undefined, setting: string): string {
  if (sender === undefined) return `the message has no sender address: mail it from an address ${setting} accepts`;
  return `add ${sender} or @${sender.slice(sender.lastIndexOf('@') + 1)} to ${setting}`;
}

/** An address the rules accept, for mail made up to fit them (sample days, tests). */
export function acceptedAddress(rules: readonly string[]): string {
  const rule = rules[0] ?? 'no-reply@mypurecloud.com';
  if (rule.startsWith('@')) return `no-reply${rule}`;
  if (rule.startsWith('*.')) return `no-reply@mail${rule.slice(1)}`;
  return rule;
}

/** Why a type's rules reject a message, with what to change, or undefined when they accept it. */
export function matchFailure(
  spec: ExportSpec,
  message: { from: string | undefined; subject: string },
  config: MailRules,
): { reason: string; fix: string } | undefined {
  if (!acceptsSender(spec, message.from, config)) {
    const { setting } = senderRules(spec, config);
    return {
      reason: `sender ${message.from ?? '(none)'} is not accepted for ${spec.type} (${setting})`,
      fix: senderFix(message.from, setting),
    };
  }
  if (spec.match.subject && !new RegExp(spec.match.subject, 'i').test(message.subject)) {
    return {
      reason: `the subject does not match ${spec.type}`,
      fix: `widen exports[${spec.type}].match.subject (${spec.match.subject})`,
    };
  }
  return undefined;
}

export function exportSpec(config: Config, type: string): ExportSpec {
  const spec = config.exports.find((e) => e.type === type);
  if (!spec) throw new Error(`Unknown export type ${type}: not in the configuration's exports`);
  return spec;
}
