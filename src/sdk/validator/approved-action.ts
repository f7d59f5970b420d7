/**
 * The tool's side of an approval (issue 18), after `TokenValidator.validate`: the call the tool is about to
 * execute must be the action the token describes (RFC 9396 `authorization_details`: the action's name, and
 * the SHA-256 of the call's canonical arguments), and a token minted for an approval (`approval_id`) is used
 * once: the first call claims its `jti` in a replay store shared by the service's replicas (the same store
 * DPoP proofs use, e.g. `redisReplayStore`), every later call is refused.
 *
 * With `reportUse` (approval-use-reporter.ts) the guard tells the broker about the accepted use (the `used`
 * attribution record) and about each refused replay (`replayed`). A report that cannot be delivered does not
 * undo the use (it happened: the replay store holds it); `onReportError` hears of it.
 *
 *   const guard = new ActionGuard({ replayStore: redisReplayStore(redis, { prefix: 'payments-single-use:' }),
 *     reportUse: brokerUseReporter({ issuer, key: validatorKey }) });
 *   const token = await validator.validate(authorization, request);
 *   await guard.check(token, { action: 'create_payment', arguments: body });   // throws TokenValidationError
 */
import { argumentsDigest } from '../../guardrails/authorization-details/arguments-digest.js';
import { TokenValidationError } from './errors.js';
import { newUseId, type UseReporter } from './approval-use-reporter.js';
import { ReplayCache, type DpopReplayStore } from './replay-cache.js';
import type { ValidatedToken } from './token-validator.js';

export interface ActionGuardOptions {
  /** Shared by the service's replicas (e.g. `redisReplayStore`); default a per-process cache (one replica only). */
  readonly replayStore?: DpopReplayStore;
  /** The longest single-use token accepted, seconds (default 120; the broker mints them for at most 60). */
  readonly maxSingleUseSeconds?: number;
  /** Bound on the per-process cache (default 100,000 tokens). */
  readonly cacheSize?: number;
  readonly now?: () => number;
  /** Reports each use (and refused replay) of an approved token to the broker (`brokerUseReporter`). */
  readonly reportUse?: UseReporter;
  /** A report that could not be delivered (the call itself was decided by the replay store). */
  readonly onReportError?: (err: unknown, approvalId: string) => void;
}

export interface CheckedAction {
  readonly type: string;
  readonly action: string;
  /** The entry of `authorization_details` that matched: typed fields included (amount, currency...). */
  readonly detail: Readonly<Record<string, unknown>>;
  /** Present when the token was minted for an approval (and has now been used). */
  readonly approvalId?: string;
}

export interface ToolCall {
  readonly action: string;
  /** The arguments exactly as the tool will act on them (their canonical JSON is hashed). */
  readonly arguments: unknown;
}

const forbidden = (description: string) => new TokenValidationError(403, 'insufficient_scope', description);

export class ActionGuard {
  readonly #store: DpopReplayStore | undefined;
  readonly #cache: ReplayCache;
  readonly #maxMs: number;
  readonly #now: () => number;
  readonly #report: UseReporter | undefined;
  readonly #onReportError: (err: unknown, approvalId: string) => void;

  constructor(opts: ActionGuardOptions = {}) {
    this.#report = opts.reportUse;
    this.#onReportError = opts.onReportError ?? (() => undefined);
    this.#now = opts.now ?? Date.now;
    this.#maxMs = (opts.maxSingleUseSeconds ?? 120) * 1000;
    const size = opts.cacheSize ?? 100_000;
    this.#cache = new ReplayCache(this.#maxMs, size, Math.max(1, Math.ceil(size / 10)), this.#now);
    this.#store = opts.replayStore;
  }

  async check(token: ValidatedToken, call: ToolCall): Promise<CheckedAction> {
    const details = token.claims.authorization_details;
    if (!Array.isArray(details)) throw forbidden('the token does not describe an action (authorization_details)');
    let digest: string;
    try {
      digest = argumentsDigest(call.arguments);
    } catch {
      throw forbidden('the call\'s arguments cannot be canonicalised');
    }
    const entries = details.filter((entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null && !Array.isArray(entry));
    const named = entries.filter((entry) => Array.isArray(entry.actions) && entry.actions.length === 1 && entry.actions[0] === call.action);
    if (named.length === 0) throw forbidden(`the token does not describe the action ${call.action}`);
    const match = named.find((entry) => entry.arguments_sha256 === digest);
    if (match === undefined) throw forbidden('the call\'s arguments do not match the arguments the token was issued for');

    const approvalId = token.claims.approval_id;
    if (approvalId !== undefined) {
      if (typeof approvalId !== 'string') throw new TokenValidationError(401, 'invalid_token', 'approval_id is malformed');
      await this.#claimOnce(token, approvalId);
    }
    return { type: String(match.type), action: call.action, detail: match, ...(typeof approvalId === 'string' ? { approvalId } : {}) };
  }

  /** Tells the broker; true when the broker had already seen another accepted use of this token. */
  async #tell(token: ValidatedToken, approvalId: string, outcome: 'used' | 'replayed'): Promise<boolean> {
    if (this.#report === undefined || token.compact === undefined) return false;
    try {
      return (await this.#report({ approvalId, token: token.compact, outcome, useId: newUseId() })) === 'already_used';
    } catch (err) {
      this.#onReportError(err, approvalId);
      return false;
    }
  }

  async #claimOnce(token: ValidatedToken, approvalId: string): Promise<void> {
    const ttlMs = token.exp * 1000 - this.#now();
    // The cache must remember the token for as long as it lives.
    if (ttlMs > this.#maxMs) throw new TokenValidationError(401, 'invalid_token', 'a single-use token may not live this long');
    let claimed;
    try {
      claimed = this.#store ? await this.#store.claim(`single-use:${token.clientId}`, token.jti, Math.max(1000, ttlMs + 5000)) : this.#cache.claim(`single-use:${token.clientId}`, token.jti);
    } catch {
      throw new TokenValidationError(503, 'temporarily_unavailable', 'the single-use state cannot be reached');
    }
    const used = () => new TokenValidationError(401, 'invalid_token', 'this single-use token has already been used');
    if (claimed === 'replayed') {
      await this.#tell(token, approvalId, 'replayed');
      throw used();
    }
    if (claimed !== 'fresh') throw new TokenValidationError(503, 'temporarily_unavailable', 'too many single-use tokens are being remembered; retry later', undefined, 'Bearer', 5);
    // The broker is the last line: it saw the token used already (this tool's replicas share no replay store).
    if (await this.#tell(token, approvalId, 'used')) throw used();
  }
}
