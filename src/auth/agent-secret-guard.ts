/**
 * Agent `client_secret_basic` checks behind three guards (issue 14 item 3), one checker for both places
 * that authenticate agents: the token endpoint's own client-authentication step, and oidc-provider's
 * `compareClientSecret` at `/revoke`:
 *   1. a secret already verified (verified-secret-cache.ts) answers at once: legitimate agents never hash
 *      again and never meet the guards below;
 *   2. the failure throttle (per source address and per client id; 429 + Retry-After, no hashing);
 *   3. the hash gate (one scrypt at a time, a short queue and a rate; 503 + Retry-After when full).
 * Unknown and known ids cost the same: a request that presents a secret for an unknown client id (or for
 * an agent that authenticates with private_key_jwt) gets the same gated scrypt against a dummy hash and the
 * same throttle, before it is refused.
 * Under oidc-provider (`/revoke`) the caller's address comes from the request: oidc-provider runs each
 * request of its routes in an AsyncLocalStorage scope holding the Koa context, which its callbacks here read.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { verifyClientSecret } from '../provider/client-secret-hash.js';
import { errors, requestStore, type Provider } from '../provider/oidc-provider.js';
import { VerifiedSecretCache } from '../provider/verified-secret-cache.js';
import type { FailureThrottle} from './failure-throttle.js';
import { FailureThrottledError } from './failure-throttle.js';
import type { SecretCheckGate } from './secret-check-gate.js';
import { SecretCheckBusyError } from './secret-check-gate.js';

/** `error_detail` of the refusals, read by the token endpoint's record (provider-denial.ts). */
export const SECRET_CHECK_THROTTLED = 'client_authentication_throttled';
export const SECRET_CHECK_BUSY = 'client_authentication_busy';

/** A well-formed scrypt hash (default parameters) whose key is random: it matches no secret. */
const DUMMY_HASH = ['scrypt', 16384, 8, 1, randomBytes(16).toString('base64url'), randomBytes(32).toString('base64url')].join('$');

export interface AgentSecretGuardDeps {
  readonly gate: SecretCheckGate;
  readonly throttle: FailureThrottle;
  readonly cache?: VerifiedSecretCache;
}

/** The answer of one secret check; the refusals carry what the caller must send back (Retry-After). */
export type SecretCheckResult =
  | { readonly kind: 'verified' }
  | { readonly kind: 'wrong' }
  | { readonly kind: 'throttled'; readonly retryAfterSeconds: number; readonly scope: 'address' | 'client' }
  | { readonly kind: 'busy'; readonly retryAfterSeconds: number };

const VERIFIED: SecretCheckResult = { kind: 'verified' };
const WRONG: SecretCheckResult = { kind: 'wrong' };

export class AgentSecretChecker {
  readonly #cache: VerifiedSecretCache;

  constructor(private readonly deps: AgentSecretGuardDeps) {
    this.#cache = deps.cache ?? new VerifiedSecretCache();
  }

  /**
   * Checks `presented` against `storedHash` (undefined: no such secret agent; a dummy hash is checked, so
   * that the answer takes as long). Never throws for a refusal: throttled and busy are answers.
   */
  async check(storedHash: string | undefined, presented: string, clientId: string, address: string): Promise<SecretCheckResult> {
    if (storedHash !== undefined && this.#cache.verified(storedHash, presented)) return VERIFIED;
    let ok: boolean;
    try {
      this.deps.throttle.check(address, clientId);
      ok = await this.deps.gate.run(() => verifyClientSecret(storedHash ?? DUMMY_HASH, presented));
    } catch (err) {
      if (err instanceof FailureThrottledError) return { kind: 'throttled', retryAfterSeconds: err.retryAfterSeconds, scope: err.scope };
      if (err instanceof SecretCheckBusyError) return { kind: 'busy', retryAfterSeconds: err.retryAfterSeconds };
      throw err;
    }
    if (ok && storedHash !== undefined) {
      this.#cache.remember(storedHash, presented);
      return VERIFIED;
    }
    await this.deps.throttle.failed(address, clientId);
    return WRONG;
  }
}

/** The refusal descriptions, one wording for both places. */
export function throttledDescription(scope: 'address' | 'client', retryAfterSeconds: number): string {
  return `too many failed client authentications from this ${scope}; retry after ${retryAfterSeconds} s`;
}
export const BUSY_DESCRIPTION = 'too many client secret checks in progress; retry shortly';

class SecretCheckRefused extends errors.OIDCProviderError {
  constructor(status: number, description: string, detail: string) {
    super(status, 'temporarily_unavailable', { detail });
    this.error_description = description;
    // A 503 is normally hidden by oidc-provider as server_error: this one is an answer, not a fault.
    this.expose = true;
  }
}

interface ClientLike { readonly clientId: string; readonly clientSecret?: string; readonly clientAuthMethod?: string }
interface OidcParams { readonly oidc?: { readonly params?: { readonly client_secret?: unknown } } }

function presentsSecret(ctx: Context): boolean {
  if (/^basic /iu.test(ctx.get('authorization'))) return true;
  return typeof (ctx as unknown as OidcParams).oidc?.params?.client_secret === 'string';
}

/** The checker installed into oidc-provider's client authentication (used at `/revoke`). */
export function guardAgentSecrets(provider: Provider, checker: AgentSecretChecker): void {
  const checked = new WeakSet<Context>();
  const currentRequest = (): Context | undefined => requestStore.getStore() as Context | undefined;

  async function check(storedHash: string | undefined, presented: string, clientId: string): Promise<boolean> {
    const ctx = currentRequest();
    if (ctx) checked.add(ctx);
    const result = await checker.check(storedHash, presented, clientId, ctx?.ip ?? 'unknown');
    switch (result.kind) {
      case 'verified':
        return true;
      case 'wrong':
        return false;
      case 'throttled':
        ctx?.set('Retry-After', String(result.retryAfterSeconds));
        throw new SecretCheckRefused(429, throttledDescription(result.scope, result.retryAfterSeconds), SECRET_CHECK_THROTTLED);
      case 'busy':
        ctx?.set('Retry-After', String(result.retryAfterSeconds));
        throw new SecretCheckRefused(503, BUSY_DESCRIPTION, SECRET_CHECK_BUSY);
    }
  }

  provider.Client.prototype.compareClientSecret = function compareHashedSecret(this: ClientLike, actual: string) {
    return check(typeof this.clientSecret === 'string' ? this.clientSecret : undefined, actual, this.clientId);
  };

  // An unknown id, or an agent without a secret, is refused by oidc-provider right after this lookup, at no
  // cost: first spend what a wrong secret for a known agent costs, so that timing tells no ids apart.
  const find = provider.Client.find.bind(provider.Client);
  provider.Client.find = async (id: string) => {
    const client = (await find(id)) as ClientLike | undefined;
    const ctx = currentRequest();
    if (ctx && !checked.has(ctx) && client?.clientAuthMethod !== 'client_secret_basic' && presentsSecret(ctx)) {
      await check(undefined, 'not-a-secret', id);
    }
    return client as Awaited<ReturnType<typeof find>>;
  };
}
