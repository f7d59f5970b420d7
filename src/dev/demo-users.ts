/** The development identity provider's demo users and the scopes their tokens carry. Development only. */
export interface DemoUser {
  readonly username: string;
  /** Stable subject identifier, as a corporate IdP would issue it. */
  readonly sub: string;
  readonly email: string;
  readonly scopes: readonly string[];
  /** Display name (the `name` claim). */
  readonly name?: string;
  /** DEVELOPMENT password for the login page of the development identity provider (printed at start). */
  readonly password?: string;
  /** Console roles, in the `broker_roles` claim of the ID token: viewer, operator, approver. */
  readonly roles?: readonly string[];
}

export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'alice', sub: 'alice', email: 'alice@example.com', scopes: ['crm.read', 'crm.write', 'tickets.read', 'payroll.read', 'payments.read', 'payments.write'], name: 'Alice (demo operator)', password: 'alice-dev-password', roles: ['operator', 'approver'] },
  { username: 'bob', sub: 'bob', email: 'bob@example.com', scopes: ['crm.read', 'tickets.read'], name: 'Bob (demo viewer)', password: 'bob-dev-password', roles: ['viewer'] },
  { username: 'carol', sub: 'carol', email: 'carol@example.com', scopes: ['payroll.read', 'payroll.admin'], name: 'Carol (demo, no console role)', password: 'carol-dev-password', roles: [] },
];
