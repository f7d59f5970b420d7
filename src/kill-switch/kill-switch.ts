/**
 * The automatic kill switch: watches every recorded decision and suspends an agent whose behaviour turns
 * anomalous (repeated rate-limit hits, a high share of denials, more distinct users than expected). The
 * suspension goes through the same admin action as a person's, so it is attributed (`by` names the
 * trigger) and revokes the agent's live tokens; only a person reinstates.
 *
 * It counts only what the agent did (denial-cause.ts): the denial ratio is agent-caused denials over the
 * exchanges the agent's own conduct decided (grants plus agent-caused denials). A user's bad token, an
 * outage, an overloaded broker or a closed time window is in neither count, so it can neither suspend the
 * agent nor dilute a real probe. Every window key carries the agent's epoch (window-epochs.ts), which a
 * reinstatement bumps: a reinstated agent starts with empty windows.
 */
import type { BrokerConfig } from '../domain/broker-config.js';
import type { ExchangeRecord } from '../attribution/record.js';
import type { AdminActions } from '../admin/admin-actions.js';
import type { Logger } from '../log.js';
import type { SharedState } from '../state/shared-state.js';
import { classifyExchange } from './denial-cause.js';
import type { WindowEpochs } from './window-epochs.js';

export interface KillSwitchDeps {
  readonly config: NonNullable<BrokerConfig['killSwitch']>;
  readonly state: SharedState;
  readonly actions: AdminActions;
  readonly epochs: WindowEpochs;
  readonly log: Logger;
  readonly now: () => number;
  /** Told after the switch suspended an agent, with the trigger's name (metrics). */
  readonly onTrip?: (trigger: string) => void;
}

/**
 * How long a replica reuses an agent's epoch before reading it again (one read per agent per second, not per
 * exchange). A count made meanwhile into the old epoch cannot suspend: a trigger re-reads the epoch first.
 */
const EPOCH_CACHE_MS = 1000;

export function createKillSwitch(deps: KillSwitchDeps) {
  const { config, state } = deps;
  const cached = new Map<string, { epoch: number; readAt: number }>();

  async function epochOf(agentId: string, nowMs: number): Promise<number> {
    const hit = cached.get(agentId);
    if (hit && nowMs - hit.readAt < EPOCH_CACHE_MS && nowMs >= hit.readAt) return hit.epoch;
    const epoch = await deps.epochs.current(agentId);
    if (cached.size >= 10_000) cached.clear(); // bounded: a re-read per agent is all it costs
    cached.set(agentId, { epoch, readAt: nowMs });
    return epoch;
  }

  async function trigger(agentId: string, countedIn: number, name: string, reason: string, requestId: string): Promise<void> {
    // Counted into an epoch a reinstatement has since closed: those counts are not this agent's any more.
    const epoch = await deps.epochs.current(agentId);
    cached.set(agentId, { epoch, readAt: deps.now() });
    if (epoch !== countedIn) return;
    if (await state.agentOverride(agentId)) return; // already suspended or revoked
    await deps.actions.agent('suspend', agentId, { by: `kill-switch:${name}`, reason, requestId, callerAddress: 'broker' });
    deps.log.warn({ agent: agentId, trigger: name, reason }, 'kill switch suspended an agent');
    deps.onTrip?.(name);
  }

  /** Grants counted in this turn and not yet written, per window key (one entry per agent and epoch). */
  const pendingGrants = new Map<string, { count: number; windowMs: number }>();
  let flushScheduled = false;

  function takePendingGrants(windowKey: string): number {
    const pending = pendingGrants.get(windowKey);
    pendingGrants.delete(windowKey);
    return pending?.count ?? 0;
  }

  function flushGrants(): void {
    flushScheduled = false;
    const nowMs = deps.now();
    for (const [windowKey, { count, windowMs }] of pendingGrants) {
      state.hit(windowKey, windowMs, nowMs, count).catch((err: unknown) => { deps.log.error({ err }, 'kill switch could not count grants'); });
    }
    pendingGrants.clear();
  }

  function countGrantLater(windowKey: string, windowMs: number): void {
    const pending = pendingGrants.get(windowKey);
    if (pending) pending.count += 1;
    else pendingGrants.set(windowKey, { count: 1, windowMs });
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushGrants);
    }
  }

  async function evaluate(record: ExchangeRecord): Promise<void> {
    const agentId = record.agent.client_id;
    if (!record.agent.authenticated || agentId === null) return;
    const cause = classifyExchange(record);
    const countsForRatio = cause === 'granted' || cause === 'agent';
    const wanted = (config.rateLimitHits && record.reason === 'rate_limited')
      || (config.denialRatio && countsForRatio)
      || (config.distinctUsers && cause === 'granted' && record.user);
    if (!wanted) return;
    const nowMs = deps.now();
    const epoch = await epochOf(agentId, nowMs);
    const key = (name: string) => `${name}:${agentId}:e${String(epoch)}`;
    if (config.rateLimitHits && record.reason === 'rate_limited') {
      const hits = await state.hit(key('ks-rl'), config.rateLimitHits.windowMs, nowMs);
      if (hits >= config.rateLimitHits.count) {
        await trigger(agentId, epoch, 'rate_limit_hits', `${Math.floor(hits)} rate-limit hits within ${config.rateLimitHits.windowMs / 1000}s`, record.request_id);
        return;
      }
    }
    if (config.denialRatio && countsForRatio) {
      const { windowMs, minRequests, ratio } = config.denialRatio;
      const allKey = key('ks-all');
      if (cause === 'granted') {
        // A grant cannot trip the ratio: it is counted with the turn's other grants (one shared-state write
        // per agent and turn instead of one per exchange). A denial of this replica takes them along (below).
        countGrantLater(allKey, windowMs);
      } else {
        const [total, denied] = await Promise.all([
          state.hit(allKey, windowMs, nowMs, 1 + takePendingGrants(allKey)),
          state.hit(key('ks-deny'), windowMs, nowMs),
        ]);
        if (total >= minRequests && denied / total > ratio) {
          await trigger(agentId, epoch, 'denial_ratio', `${Math.round((denied / total) * 100)}% of ${Math.floor(total)} exchanges denied for the agent's own requests`, record.request_id);
          return;
        }
      }
    }
    if (config.distinctUsers && cause === 'granted' && record.user) {
      const users = await state.addDistinct(key('ks-users'), `${record.user.iss} ${record.user.sub}`, config.distinctUsers.windowMs, nowMs);
      if (users > config.distinctUsers.max) {
        await trigger(agentId, epoch, 'distinct_users', `exchanges for ${users} distinct users within ${config.distinctUsers.windowMs / 1000}s`, record.request_id);
      }
    }
  }

  /** Called after each exchange record is written; never delays or fails the response. */
  return function observe(record: ExchangeRecord): void {
    evaluate(record).catch((err: unknown) => { deps.log.error({ err, agent: record.agent.client_id }, 'kill switch evaluation failed'); });
  };
}
