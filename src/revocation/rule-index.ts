/**
 * A validator's revocation rules, indexed for matching by lookup, never by scan: a token rule is found by
 * its jti, the others by `<kind>:<value>` (one lookup per actor in the chain, one for the user, one for the
 * tool), so the cost of a check does not grow with the number of rules. Rules are merged like the broker
 * merges them, and dropped once nothing they cover can still be alive.
 */
import { agentsOf, type RevocableClaims, type RevocationKind } from '../state/shared-state.js';
import { userHash, type FeedRule } from './feed-rule.js';

interface Cover { readonly issuedBefore: number; readonly expiresAt: number }

export class RuleIndex {
  /** jti -> expiresAt: the bulk of rules at scale, kept as small as a Map entry can be. */
  readonly #tokens = new Map<string, number>();
  readonly #keyed = new Map<string, Cover>();
  #users = 0;

  constructor(private readonly userKey: Buffer) {}

  get size(): number {
    return this.#tokens.size + this.#keyed.size;
  }

  add(rule: FeedRule): void {
    if (rule.kind === 'token') {
      this.#tokens.set(rule.value, Math.max(rule.expiresAt, this.#tokens.get(rule.value) ?? 0));
      return;
    }
    const id = `${rule.kind}:${rule.value}`;
    const old = this.#keyed.get(id);
    if (old === undefined && rule.kind === 'user') this.#users += 1;
    this.#keyed.set(id, old ? { issuedBefore: Math.max(old.issuedBefore, rule.issuedBefore), expiresAt: Math.max(old.expiresAt, rule.expiresAt) } : { issuedBefore: rule.issuedBefore, expiresAt: rule.expiresAt });
  }

  /** Drops rules whose every covered token has expired (`expiresAt` before `nowSeconds`). */
  prune(nowSeconds: number): void {
    while (!this.pruneSome(nowSeconds, Number.POSITIVE_INFINITY));
  }

  #sweep: Iterator<[string, number | Cover]> | undefined;
  #sweeping: 'tokens' | 'keyed' = 'tokens';

  /**
   * Looks at up to `budget` rules where the last call stopped and drops the expired ones: a sweep of a
   * million rules in slices, never one long pause in the middle of validations. True when a sweep completed.
   */
  pruneSome(nowSeconds: number, budget: number): boolean {
    let seen = 0;
    while (seen < budget) {
      this.#sweep ??= this.#sweeping === 'tokens' ? this.#tokens.entries() : this.#keyed.entries();
      const next = this.#sweep.next();
      if (next.done) {
        this.#sweep = undefined;
        const finished = this.#sweeping === 'keyed';
        this.#sweeping = finished ? 'tokens' : 'keyed';
        if (finished) return true;
        continue;
      }
      seen += 1;
      const [id, value] = next.value;
      if (typeof value === 'number') {
        if (value < nowSeconds) this.#tokens.delete(id);
      } else if (value.expiresAt < nowSeconds) {
        this.#keyed.delete(id);
        if (id.startsWith('user:')) this.#users -= 1;
      }
    }
    return false;
  }

  /** Whether any rule covers these claims: the jti, any agent in the chain (RFC 8693 §4.1), the user, the tool. */
  matches(claims: RevocableClaims): boolean {
    if (typeof claims.jti === 'string' && this.#tokens.has(claims.jti)) return true;
    if (this.#keyed.size === 0) return false;
    const iat = typeof claims.iat === 'number' ? claims.iat : Number.NEGATIVE_INFINITY;
    const covered = (kind: RevocationKind, value: string): boolean => {
      const cover = this.#keyed.get(`${kind}:${value}`);
      return cover !== undefined && iat <= cover.issuedBefore;
    };
    for (const agent of agentsOf(claims)) if (covered('agent', agent)) return true;
    if (this.#users > 0 && typeof claims.sub === 'string' && covered('user', userHash(this.userKey, claims.sub))) return true;
    return typeof claims.tool === 'string' && covered('tool', claims.tool);
  }
}
