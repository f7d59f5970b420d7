/**
 * The replay cache of private_key_jwt client assertions (RFC 7523 §3 item 7: a `jti` is used once). It is
 * oidc-provider's own `ReplayDetection` model over its adapter, so one cache serves both places agents
 * authenticate with an assertion (the token endpoint's client-authentication step and `/revoke`), and with
 * Redis (redis-adapter.ts) every replica shares it: an assertion accepted anywhere is refused everywhere.
 */
import type { Provider } from './oidc-provider.js';

export interface AssertionReplayCache {
  /** True the first time `iss`+`jti` is seen; remembered until `expSeconds` (epoch seconds). Rejects if the store is unreachable. */
  unique(iss: string, jti: string, expSeconds: number): Promise<boolean>;
}

export function providerReplayCache(provider: Provider): AssertionReplayCache {
  return { unique: (iss, jti, expSeconds) => provider.ReplayDetection.unique(iss, jti, expSeconds) };
}

/** One process's cache (unit tests): the same contract, entries dropped once expired. */
export function memoryReplayCache(now: () => number = Date.now): AssertionReplayCache {
  const seen = new Map<string, number>();
  return {
    unique(iss, jti, expSeconds) {
      const key = `${iss}\0${jti}`;
      const until = seen.get(key);
      if (until !== undefined && until * 1000 > now()) return Promise.resolve(false);
      seen.set(key, expSeconds);
      return Promise.resolve(true);
    },
  };
}
