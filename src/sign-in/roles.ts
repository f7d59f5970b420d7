/**
 * A person's roles in the console, read from one configured claim of their ID token (pure).
 * - `viewer` reads everything the console shows;
 * - `operator` also acts (suspend, reinstate, revoke);
 * - `approver` decides approvals (where that feature exists).
 * The claim may be a JSON array of strings or a space-separated string; unknown values are ignored, so an
 * identity provider cannot grant a role the broker does not know. No recognised role = no access.
 */
export const PERSON_ROLES = ['viewer', 'operator', 'approver'] as const;
export type PersonRole = (typeof PERSON_ROLES)[number];

const KNOWN: ReadonlySet<string> = new Set(PERSON_ROLES);

function isRole(value: string): value is PersonRole {
  return KNOWN.has(value);
}

export function rolesFromClaims(claims: Readonly<Record<string, unknown>>, claim: string): readonly PersonRole[] {
  const raw = claims[claim];
  const values = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : [];
  const roles = new Set(values.filter(isRole));
  // Whoever may act or approve may also look.
  if (roles.size > 0) roles.add('viewer');
  return PERSON_ROLES.filter((r) => roles.has(r));
}

export function hasRole(roles: readonly PersonRole[], role: PersonRole): boolean {
  return roles.includes(role);
}
