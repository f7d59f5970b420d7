/**
 * DEVELOPMENT SAMPLE. The sample SaaS's own users and its own permission rules, deliberately different from
 * the broker's catalog: the broker may grant a tool `crm.accounts.write` for alice, but here alice may touch
 * account A only, and bob may only ever read. Users are named here by the broker token's `sub`.
 */

export const SAAS_SCOPES = ['accounts:read', 'accounts:write'] as const;
export type SaasScope = (typeof SAAS_SCOPES)[number];

export interface SaasUser {
  readonly id: string;
  /** Dev-only login password for the consent pages (the sample is loopback-only). */
  readonly password: string;
  /** The SaaS scopes this user may ever hold: a token asking for more is narrowed, for none of these refused. */
  readonly scopes: readonly SaasScope[];
  /** Accounts this user may read / write through the API. */
  readonly read: readonly string[];
  readonly write: readonly string[];
}

export const SAAS_ACCOUNTS: Readonly<Record<string, { readonly name: string }>> = {
  A: { name: 'Acme Corp' },
  B: { name: 'Globex' },
};

export const SAAS_USERS: readonly SaasUser[] = [
  { id: 'alice', password: 'alice-saas', scopes: ['accounts:read', 'accounts:write'], read: ['A'], write: ['A'] },
  { id: 'bob', password: 'bob-saas', scopes: ['accounts:read'], read: ['A', 'B'], write: [] },
];

export function findSaasUser(users: readonly SaasUser[], id: string): SaasUser | undefined {
  return users.find((u) => u.id === id);
}

/** What the SaaS grants a user who asks for `requested`: only scopes the user holds here (never more). */
export function grantableScopes(user: SaasUser, requested: readonly string[]): string[] {
  return requested.filter((s): s is SaasScope => (user.scopes as readonly string[]).includes(s));
}
