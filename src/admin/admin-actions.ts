/**
 * What an on-call engineer can do to an agent identity and to live tokens. Each action changes the shared
 * state every replica reads, and is attributed. The record is written first: an action that cannot be
 * attributed is not taken.
 */
import type { AgentRegistry } from '../domain/agent.js';
import { BrokerError, type BrokerErrorReason } from '../errors/broker-errors.js';
import type { Catalog } from '../domain/catalog.js';
import { ReplicationUnconfirmedError, StateUnavailableError, type Revocation, type RevocationKind, type SharedState } from '../state/shared-state.js';
import { adminRecord, type AdminActionRecord, type OverriddenAction } from './admin-record.js';
import { ruleExpiry, ruleId } from '../revocation/rules.js';

/**
 * A refused or failed admin action: an error of the model (src/errors/broker-errors.ts) whose description is
 * written for the operator and is also its message. `status` and `code` (the OAuth-style `error`) are read by
 * the admin API's callers and tests.
 */
export class AdminActionError extends BrokerError {
  override readonly name = 'AdminActionError';
  constructor(reason: BrokerErrorReason, description: string) {
    super(reason, description, { description });
  }

  get status(): number {
    return this.entry.status;
  }

  get code(): string {
    return this.entry.error;
  }
}

export interface ActionContext {
  readonly by: string;
  readonly reason: string;
  /** The caller acknowledged that the action changes what another operator or the kill switch did. */
  readonly override?: boolean;
  readonly requestId: string;
  readonly callerAddress: string;
}

export interface AdminActionsDeps {
  readonly state: SharedState;
  readonly agents: () => AgentRegistry;
  readonly catalog: () => Catalog;
  readonly record: (record: AdminActionRecord) => Promise<void>;
  readonly now: () => number;
  /**
   * How far another replica's clock may run ahead of this one. A rule covers tokens issued up to this many
   * seconds after it, so a replica whose clock is ahead cannot mint a token (iat in its future) that escapes
   * a revocation committed before it minted.
   */
  readonly clockSkewSeconds: number;
}

export type AgentAction = 'suspend' | 'reinstate' | 'revoke';

export function createAdminActions(deps: AdminActionsDeps) {
  function requireAgent(clientId: string): void {
    if (!deps.agents().agents.has(clientId)) throw new AdminActionError('unknown_agent', 'no such agent');
  }

  async function attribute(action: string, target: { kind: string; value: string }, ctx: ActionContext, overrides?: OverriddenAction): Promise<number> {
    const nowMs = deps.now();
    await deps.record(adminRecord({
      nowMs, action, by: ctx.by, target, reason: ctx.reason, request_id: ctx.requestId, caller: { address: ctx.callerAddress },
      ...(overrides ? { override: overrides } : {}),
    }));
    return nowMs;
  }

  /**
   * Issue 14 item 7: undoing what someone else did (reinstating an agent another operator or the kill switch
   * stopped, or turning another's revocation into a mere suspension) must be deliberate: the caller says
   * `override: true` (with the reason every action has), and the record names the action it overrides.
   */
  async function overriddenBy(action: AgentAction, clientId: string, ctx: ActionContext): Promise<OverriddenAction | undefined> {
    const current = await deps.state.agentOverride(clientId);
    if (!current || current.by === ctx.by) return undefined;
    const undoes = action === 'reinstate' || (action === 'suspend' && current.status === 'revoked');
    if (!undoes) return undefined;
    const previous = { by: current.by, status: current.status, at: current.at };
    if (!ctx.override) {
      throw new AdminActionError('override_required', `the agent was ${current.status} by ${current.by}; to change another's action, repeat with "override": true and a reason`);
    }
    return previous;
  }

  /** The last `iat` a rule taken at `nowMs` covers: this replica's second, plus the other replicas' skew. */
  function coveredUntil(nowMs: number): number {
    return Math.floor(nowMs / 1000) + Math.ceil(deps.clockSkewSeconds);
  }

  /** One rule per kind and value (repeating is idempotent), dropped once nothing it covers can be alive. */
  function revocation(kind: RevocationKind, value: string, nowMs: number, ctx: ActionContext, opts: { coverMs?: number; tokenExp?: number } = {}): Revocation {
    const issuedBefore = coveredUntil(opts.coverMs ?? nowMs);
    const expiresAt = ruleExpiry(kind, issuedBefore, Math.floor(nowMs / 1000), deps.clockSkewSeconds, opts.tokenExp);
    return { id: ruleId(kind, value), kind, value, issuedBefore, expiresAt, reason: ctx.reason, by: ctx.by, at: Math.floor(nowMs / 1000) };
  }

  /** With redis.replica_acks: the action's writes are on that many replicas, or a 503 saying they are only on the master. */
  async function confirm(what: string): Promise<void> {
    try {
      await deps.state.confirmReplicated(what);
    } catch (err) {
      if (err instanceof ReplicationUnconfirmedError) {
        throw new AdminActionError('replication_unconfirmed', `${err.message}; it is in effect, but a failover now could lose it: repeat the action once the replicas are back`);
      }
      throw err;
    }
  }

  return {
    /** suspend / revoke: no replica mints for the agent, and every token it already holds is revoked. */
    async agent(action: AgentAction, clientId: string, ctx: ActionContext): Promise<{ revocation?: Revocation }> {
      requireAgent(clientId);
      const overrides = await overriddenBy(action, clientId, ctx);
      const nowMs = await attribute(`agent.${action}`, { kind: 'agent', value: clientId }, ctx, overrides);
      const at = Math.floor(nowMs / 1000);
      if (action === 'reinstate') {
        // Tokens revoked by the suspension stay revoked; only new exchanges are allowed again.
        await deps.state.setAgentOverride(clientId, null);
        await confirm('the reinstatement');
        return {};
      }
      const status = action === 'revoke' ? 'revoked' : 'suspended';
      await deps.state.setAgentOverride(clientId, { status, reason: ctx.reason, by: ctx.by, at });
      // The rule covers tokens issued up to now, after the suspension is committed: a replica whose
      // after-mint check read the feed before the commit minted before now, so its token is covered.
      let rule = revocation('agent', clientId, nowMs, ctx, { coverMs: Math.max(nowMs, deps.now()) });
      try {
        rule = await deps.state.addRevocation(rule);
      } catch (err) {
        // Two writes: a failure of the second leaves the agent stopped and its tokens perhaps alive; say exactly that.
        if (err instanceof StateUnavailableError) {
          throw new AdminActionError('state_unavailable', `the agent is ${status} (no replica mints for it), but revoking its live tokens may not have taken effect: shared state is unavailable; repeat the action`);
        }
        throw err;
      }
      await confirm(`the ${action === 'revoke' ? 'revocation' : 'suspension'} of the agent and of its live tokens`);
      return { revocation: rule };
    },

    /**
     * Revoke every live token for a user (by `sub`), for a tool (by id), or one token (by `jti`; with its
     * `exp` when known, so the rule ends with the token).
     */
    async revoke(kind: Exclude<RevocationKind, 'agent'>, value: string, ctx: ActionContext, token?: { exp: number }): Promise<Revocation> {
      if (kind === 'tool' && !deps.catalog().tools.has(value)) throw new AdminActionError('unknown_tool', 'no such tool');
      const nowMs = await attribute(`revoke.${kind}`, { kind, value }, ctx);
      const rule = await deps.state.addRevocation(revocation(kind, value, nowMs, ctx, token ? { tokenExp: token.exp } : {}));
      await confirm('the revocation');
      return rule;
    },

    list: () => deps.state.listRevocations(),
  };
}

export type AdminActions = ReturnType<typeof createAdminActions>;
