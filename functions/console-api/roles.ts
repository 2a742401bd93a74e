import type { Role } from './contract.ts';

/** Where the roles come from: a claim holding groups or roles, and which of them make each role. */
export interface RoleSettings {
  roleClaim: string;
  operatorGroups: readonly string[];
  viewerGroups: readonly string[];
}

/**
 * A claim's values. API Gateway's JWT authorizer hands a list claim to the function as one
 * string, `[viewer operator]`; a token verified locally keeps it a list; Entra's `roles` and
 * Cognito's `cognito:groups` are lists; a plain string is one value (or several, space-separated).
 */
export function claimValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') return [];
  const listed = /^\[(.*)\]$/.exec(value.trim());
  return (listed ? (listed[1] as string) : value).split(/[\s,]+/).filter(Boolean);
}

/** The user's roles: an operator is also a viewer. */
export function rolesOf(claims: Record<string, unknown>, settings: RoleSettings): Role[] {
  const groups = claimValues(claims[settings.roleClaim]);
  if (groups.some((group) => settings.operatorGroups.includes(group))) return ['viewer', 'operator'];
  if (groups.some((group) => settings.viewerGroups.includes(group))) return ['viewer'];
  return [];
}
