/**
 * Preloads a broker's Redis state with `count` token revocation rules, as `/revoke` would store them (one per
 * jti, with an expiry), without the feed events: what a long-running broker under heavy revocation holds.
 */
import { Redis } from 'ioredis';
import { stateKey } from '../src/state/state-keys.js';

export async function preloadRevocationRules(url: string, prefix: string, count: number): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const hash = stateKey(prefix, 'revocations');
    const expiry = stateKey(prefix, 'revocation-expiry');
    const nowS = Math.floor(Date.now() / 1000);
    for (let start = 0; start < count; start += 1000) {
      const fields: string[] = [];
      const scores: (string | number)[] = [];
      for (let i = start; i < Math.min(count, start + 1000); i += 1) {
        const jti = `bench${String(i).padStart(17, '0')}`;
        const id = `token:${jti}`;
        fields.push(id, JSON.stringify({ id, kind: 'token', value: jti, issuedBefore: nowS, expiresAt: nowS + 7200, reason: 'bench', by: 'bench', at: nowS }));
        scores.push(nowS + 7200, id);
      }
      await redis.multi().hset(hash, ...fields).zadd(expiry, ...scores).exec();
    }
  } finally {
    redis.disconnect();
  }
}
