/** The development identity provider's demo users and the scopes their tokens carry. Development only. */
export interface DemoUser {
  readonly username: string;
  /** Stable subject identifier, as a corporate IdP would issue it. */
  readonly sub: string;
  readonly email: string;
  readonly scopes: readonly string[];
}

export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'alice', sub: 'alice', email: 'alice@example.com', scopes: ['crm.read', 'crm.write', 'tickets.read', 'payroll.read', 'payments.read', 'payments.write'] },
  { username: 'bob', sub: 'bob', email: 'bob@example.com', scopes: ['crm.read', 'tickets.read'] },
  { username: 'carol', sub: 'carol', email: 'carol@example.com', scopes: ['payroll.read', 'payroll.admin'] },
];
