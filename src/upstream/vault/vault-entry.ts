/**
 * What a connection's sealed part holds, and the pure decisions over it: which cached access token can
 * serve a request, whether the request fits what the user granted, what the entry looks like after a
 * refresh. No I/O, no clock of its own: the caller passes `nowMs`.
 */
import type { UpstreamCredential } from '../connector.js';
import type { SaasTokens } from './saas-client.js';

export interface CachedAccessToken extends UpstreamCredential {
  /** The scope set it was asked for (the cache key). */
  readonly key: string;
}

/** The secret part of a connection: sealed before it reaches any store. */
export interface ConnectionSecrets {
  readonly refreshToken: string;
  readonly accessTokens: readonly CachedAccessToken[];
}

/** A stable key for a set of scopes: sorted, de-duplicated, space-separated. */
export function scopeKey(scopes: readonly string[]): string {
  return [...new Set(scopes)].sort().join(' ');
}

/** RFC 6749 §6: a refresh may ask for no scope the user did not grant. True when `requested` ⊆ `granted`. */
export function withinGrant(requested: readonly string[], granted: readonly string[]): boolean {
  const have = new Set(granted);
  return requested.every((s) => have.has(s));
}

/**
 * The cached token for exactly these scopes, if it lives past `nowMs + marginMs`: a token about to expire
 * is refreshed rather than handed to a tool that would see it die mid-call.
 */
export function pickCached(secrets: ConnectionSecrets, scopes: readonly string[], nowMs: number, marginMs: number): CachedAccessToken | undefined {
  const key = scopeKey(scopes);
  return secrets.accessTokens.find((t) => t.key === key && t.expiresAtMs - marginMs > nowMs);
}

export type RefreshOutcome =
  | { readonly ok: true; readonly secrets: ConnectionSecrets; readonly credential: CachedAccessToken }
  | { readonly ok: false; readonly why: string };

/** Default life of an access token whose response had no `expires_in`: short, so it is refreshed soon. */
export const DEFAULT_ACCESS_TOKEN_SECONDS = 60;

/**
 * The entry after a refresh: the rotated refresh token (or the old one if the server did not rotate), the
 * new access token cached, expired ones dropped. Refused when the server granted more than was asked:
 * a wider token is never passed on (it cannot be narrowed after the fact).
 */
export function afterRefresh(secrets: ConnectionSecrets, asked: readonly string[], tokens: SaasTokens, nowMs: number): RefreshOutcome {
  const granted = tokens.scopes ?? asked;
  if (!withinGrant(granted, asked)) return { ok: false, why: 'the SaaS granted more scopes than were asked for' };
  if (tokens.tokenType.toLowerCase() !== 'bearer' && tokens.tokenType.toLowerCase() !== 'dpop') return { ok: false, why: 'the SaaS issued an unknown token type' };
  const credential: CachedAccessToken = {
    key: scopeKey(asked),
    accessToken: tokens.accessToken,
    tokenType: tokens.tokenType,
    expiresAtMs: nowMs + (tokens.expiresInSeconds ?? DEFAULT_ACCESS_TOKEN_SECONDS) * 1000,
    scopes: [...granted],
  };
  const kept = secrets.accessTokens.filter((t) => t.key !== credential.key && t.expiresAtMs > nowMs);
  return { ok: true, credential, secrets: { refreshToken: tokens.refreshToken ?? secrets.refreshToken, accessTokens: [...kept, credential] } };
}

export function serializeSecrets(secrets: ConnectionSecrets): string {
  return JSON.stringify(secrets);
}

/** Parses an opened entry; undefined when it is not what this code writes (treated as unreadable). */
export function parseSecrets(text: string): ConnectionSecrets | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  if (typeof d.refreshToken !== 'string' || !Array.isArray(d.accessTokens)) return undefined;
  const accessTokens: CachedAccessToken[] = [];
  for (const t of d.accessTokens as unknown[]) {
    if (typeof t !== 'object' || t === null) return undefined;
    const c = t as Record<string, unknown>;
    if (typeof c.key !== 'string' || typeof c.accessToken !== 'string' || typeof c.tokenType !== 'string' || typeof c.expiresAtMs !== 'number') return undefined;
    if (!Array.isArray(c.scopes) || !c.scopes.every((s) => typeof s === 'string')) return undefined;
    accessTokens.push({ key: c.key, accessToken: c.accessToken, tokenType: c.tokenType, expiresAtMs: c.expiresAtMs, scopes: c.scopes });
  }
  return { refreshToken: d.refreshToken, accessTokens };
}
