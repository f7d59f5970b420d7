/** What the broker remembers about a signed-in person (server side; the cookie names it by a random id). */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { PersonRole } from './roles.js';

export interface PersonSession {
  readonly v: 1;
  /** `sub` at the identity provider. */
  readonly sub: string;
  readonly iss: string;
  readonly name?: string;
  readonly email?: string;
  readonly roles: readonly PersonRole[];
  /** Synchronizer token bound to this session: every state change must echo it (X-CSRF-Token). */
  readonly csrf: string;
  readonly createdAt: number;
  /** The last request that used the session (idle timeout); absent in sessions written before it existed. */
  readonly lastSeenAt?: number;
  readonly expiresAt: number;
}

/** A pending login between the redirect to the identity provider and its callback (used once). */
export interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly returnTo: string;
}

export function randomId(): string {
  return randomBytes(32).toString('base64url');
}

/** Who acted, as admin action records name it. */
export function actorOf(session: Pick<PersonSession, 'sub'>): string {
  return `person:${session.sub}`;
}

export function csrfMatches(session: Pick<PersonSession, 'csrf'>, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Only a path on this site (`/x`, never `//host` or `/\host`), else the default. Prevents open redirects. */
export function safeReturnTo(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value.length > 512) return fallback;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return fallback;
  // Control characters and backslashes: browsers may read them as another host.
  for (let i = 0; i < value.length; i += 1) if (value.charCodeAt(i) < 0x20 || value[i] === '\\') return fallback;
  return value;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export function parseSession(text: string | undefined, nowMs: number): PersonSession | undefined {
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as Partial<PersonSession>;
    if (s.v !== 1 || typeof s.sub !== 'string' || typeof s.csrf !== 'string' || typeof s.expiresAt !== 'number' || !isStringArray(s.roles)) return undefined;
    if (s.expiresAt <= nowMs) return undefined;
    return s as PersonSession;
  } catch {
    return undefined;
  }
}

export function parsePending(text: string | undefined): PendingLogin | undefined {
  if (text === undefined) return undefined;
  try {
    const p = JSON.parse(text) as Partial<PendingLogin>;
    if (typeof p.state !== 'string' || typeof p.nonce !== 'string' || typeof p.codeVerifier !== 'string' || typeof p.returnTo !== 'string') return undefined;
    return p as PendingLogin;
  } catch {
    return undefined;
  }
}
