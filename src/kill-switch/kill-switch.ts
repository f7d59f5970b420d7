/**
 * The automatic kill switch: watches every recorded decision and suspends an agent whose behaviour turns
 * anomalous (repeated rate-limit hits, a high share of denials, more distinct users than expected). The
 * suspension goes through the same admin action as a person's, so it is attributed (`by` names the
 * trigger) and revokes the agent's live tokens; only a person reinstates.
 */
import type { BrokerConfig } from '../domain/broker-config.js';
import type { ExchangeRecord } from '../attribution/record.js';
import type { AdminActions } from '../admin/admin-actions.js';
import type { Logger } from '../log.js';
import type { SharedState } from '../state/shared-state.js';

export interface KillSwitchDeps {
  readonly config: NonNullable<BrokerConfig['killSwitch']>;
  readonly state: SharedState;
  readonly actions: AdminActions;
  readonly log: Logger;
  readonly now: () => number;
}

export function createKillSwitch(deps: KillSwitchDeps) {
  const { config, state } = deps;

  async function trigger(agentId: string, name: string, reason: string, requestId: string): Promise<void> {
    if (await state.agentOverride(agentId)) return; // already suspended or revoked
    await deps.actions.agent('suspend', agentId, { by: `kill-switch:${name}`, reason, requestId, callerAddress: 'broker' });
    deps.log.warn({ agent: agentId, trigger: name, reason }, 'kill switch suspended an agent');
  }

  async function evaluate(record: ExchangeRecord): Promise<void> {
    const agentId = record.agent.client_id;
    if (!record.agent.authenticated || agentId === null) return;
    const nowMs = deps.now();
    if (config.rateLimitHits && record.reason === 'rate_limited') {
      const hits = await state.hit(`ks-rl:${agentId}`, config.rateLimitHits.windowMs, nowMs);
      if (hits >= config.rateLimitHits.count) {
        await trigger(agentId, 'rate_limit_hits', `${Math.floor(hits)} rate-limit hits within ${config.rateLimitHits.windowMs / 1000}s`, record.request_id);
        return;
      }
    }
    if (config.denialRatio && record.reason !== 'rate_limited' && record.reason !== 'agent_suspended' && record.reason !== 'agent_revoked') {
      const { windowMs, minRequests, ratio } = config.denialRatio;
      const [total, denied] = await Promise.all([
        state.hit(`ks-all:${agentId}`, windowMs, nowMs),
        record.decision === 'denied' ? state.hit(`ks-deny:${agentId}`, windowMs, nowMs) : 0,
      ]);
      if (record.decision === 'denied' && total >= minRequests && denied / total > ratio) {
        await trigger(agentId, 'denial_ratio', `${Math.round((denied / total) * 100)}% of ${Math.floor(total)} exchanges denied`, record.request_id);
        return;
      }
    }
    if (config.distinctUsers && record.decision === 'granted' && record.user) {
      const users = await state.addDistinct(`ks-users:${agentId}`, `${record.user.iss} ${record.user.sub}`, config.distinctUsers.windowMs, nowMs);
      if (users > config.distinctUsers.max) {
        await trigger(agentId, 'distinct_users', `exchanges for ${users} distinct users within ${config.distinctUsers.windowMs / 1000}s`, record.request_id);
      }
    }
  }

  /** Called after each exchange record is written; never delays or fails the response. */
  return function observe(record: ExchangeRecord): void {
    evaluate(record).catch((err: unknown) => { deps.log.error({ err, agent: record.agent.client_id }, 'kill switch evaluation failed'); });
  };
}
