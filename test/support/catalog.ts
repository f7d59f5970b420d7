/** The catalog used by integration tests, built through the real catalog loader from plain data. */
import { buildCatalog } from '../../src/config/load-catalog.js';
import type { Catalog } from '../../src/domain/catalog.js';

export const CRM = 'https://crm.example.test/api';
export const TICKETS = 'https://tickets.example.test/';
export const PAYROLL = 'https://payroll.example.test/';
export const AFTER_HOURS = 'https://after-hours.example.test/';

/** HH:MM in UTC, `minutes` from now (wrapping around midnight). */
function utcClock(offsetMinutes: number): string {
  const d = new Date(Date.now() + offsetMinutes * 60_000);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}
const ALL_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export function testCatalog(): Catalog {
  return buildCatalog([
    {
      source: 'test/crm.yaml',
      data: {
        id: 'crm', description: 'CRM', resource: CRM, max_ttl: 300,
        scopes: {
          'crm.accounts.read': { description: 'read', risk: 'low', justified_by: ['crm.read', 'crm.write'] },
          'crm.accounts.write': { description: 'write', risk: 'medium', justified_by: ['crm.write'] },
        },
      },
    },
    {
      source: 'test/tickets.yaml',
      data: {
        id: 'tickets', description: 'Tickets (read-only)', resource: TICKETS, max_ttl: 120,
        scopes: { 'tickets.read': { description: 'read', risk: 'low', justified_by: ['tickets.read'] } },
      },
    },
    {
      source: 'test/payroll.yaml',
      data: {
        id: 'payroll', description: 'Payroll, open now for the next 8 minutes', resource: PAYROLL, max_ttl: 3600,
        scopes: { 'payroll.read': { description: 'read', risk: 'high', justified_by: ['payroll.read'] } },
        // Opens a minute ago, closes in 8 minutes (UTC): exp must stop at the window's end.
        time_windows: [{ days: ALL_DAYS, from: utcClock(-1), to: utcClock(8), time_zone: 'UTC' }],
      },
    },
    {
      source: 'test/after-hours.yaml',
      data: {
        id: 'after-hours', description: 'Closed right now', resource: AFTER_HOURS, max_ttl: 300,
        scopes: { 'crm.accounts.read': { description: 'read', risk: 'low', justified_by: ['crm.read'] } },
        // Opens in an hour, closes in two: the current time is outside every window.
        time_windows: [{ days: ALL_DAYS, from: utcClock(60), to: utcClock(120), time_zone: 'UTC' }],
      },
    },
  ]);
}
