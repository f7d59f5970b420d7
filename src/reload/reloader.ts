/**
 * Reloads `scopes/` and `clients/` without a restart (issue 19 §3). A reload reads and validates the whole
 * new set first; on any problem the set in force stays, and the failure is logged, counted
 * (`broker_config_reloads_total{result="failed"}`), recorded as a denied admin action and kept in `status()`
 * (for the console and `GET /admin/config/reload`). On success the change is recorded first (an action that
 * cannot be attributed is not taken, as for every admin action), then put in force in one swap.
 * Reloads run one at a time; a request arriving during one runs after it, against the files as they are then.
 */
import { randomUUID } from 'node:crypto';
import { adminRecord, type AdminActionRecord } from '../admin/admin-record.js';
import { ConfigError, formatProblems } from '../config/config-error.js';
import type { Logger } from '../log.js';
import type { BrokerMetrics } from '../observability/metrics/broker-metrics.js';
import { diffConfig, diffSummary, isEmptyDiff, maxToolTtlSeconds } from './config-diff.js';
import type { LiveConfig } from './live-config.js';
import type { ConfigSet } from './load-sets.js';

export interface ReloadTrigger {
  /** Who asked: `SIGHUP`, `file-watch`, or an admin key id. */
  readonly by: string;
  readonly requestId?: string;
  readonly callerAddress?: string;
}

export type ReloadResult =
  | { readonly ok: true; readonly changed: boolean; readonly generation: number; readonly summary: string }
  | { readonly ok: false; readonly error: string; readonly problems: readonly string[] };

export interface ReloadStatus {
  readonly generation: number;
  /** When the set in force took effect (ISO 8601). */
  readonly since: string;
  readonly tools: number;
  readonly agents: number;
  readonly lastAttempt?: { readonly at: string; readonly by: string } & ReloadResult;
}

export interface ReloaderDeps {
  readonly live: LiveConfig;
  /** Reads and validates the new set (load-sets.ts); throws ConfigError with every problem. */
  readonly load: () => Promise<ConfigSet>;
  readonly record: (record: AdminActionRecord) => Promise<void>;
  readonly log: Logger;
  readonly metrics?: BrokerMetrics;
  readonly now: () => number;
}

/** Problems kept in a record or a status answer (the log has them all). */
const MAX_PROBLEMS = 20;

export class Reloader {
  readonly #deps: ReloaderDeps;
  /** The signing-key schedule was sized for the lifetimes at start (server/start-broker.ts). */
  readonly #maxTtlAtStart: number;
  #queue: Promise<unknown> = Promise.resolve();
  #last: ReloadStatus['lastAttempt'];

  constructor(deps: ReloaderDeps) {
    this.#deps = deps;
    this.#maxTtlAtStart = maxToolTtlSeconds(deps.live.current);
  }

  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const run = this.#queue.then(() => this.#reload(trigger));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  status(): ReloadStatus {
    const { generation, since, catalog, agents } = this.#deps.live.current;
    return {
      generation, since: new Date(since).toISOString(), tools: catalog.tools.size, agents: agents.agents.size,
      ...(this.#last ? { lastAttempt: this.#last } : {}),
    };
  }

  async #reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const { live, log } = this.#deps;
    const before = live.current;
    let result: ReloadResult;
    try {
      const next = await this.#deps.load();
      const diff = diffConfig(before, next);
      const summary = diffSummary(diff);
      // Agents added or with new credentials are taken like any other change: client authentication reads the
      // agents in force. Only the signing-key schedule, sized at start, cannot follow a longer lifetime.
      const refusals = maxToolTtlSeconds(next) > this.#maxTtlAtStart
        ? [`a tool's max_ttl now exceeds the largest at start (${String(this.#maxTtlAtStart)} s): the signing-key schedule needs a restart`]
        : [];
      if (refusals.length > 0) {
        result = { ok: false, error: 'the new set needs a restart', problems: refusals };
      } else if (isEmptyDiff(diff)) {
        result = { ok: true, changed: false, generation: before.generation, summary };
      } else {
        // Attributed first; then the swap: one assignment, so no exchange sees half of it.
        await this.#deps.record(this.#record(trigger, summary));
        const now = live.swap(next, this.#deps.now());
        result = { ok: true, changed: true, generation: now.generation, summary };
      }
    } catch (err) {
      result = err instanceof ConfigError
        ? { ok: false, error: 'the new set is invalid', problems: formatProblems(err.problems) }
        : { ok: false, error: 'the reload could not be completed', problems: [err instanceof Error ? err.message : String(err)] };
    }
    this.#deps.metrics?.reloads.inc(result.ok ? 'ok' : 'failed');
    this.#last = { at: new Date(this.#deps.now()).toISOString(), by: trigger.by, ...result, ...(result.ok ? {} : { problems: result.problems.slice(0, MAX_PROBLEMS) }) };
    if (result.ok) {
      if (result.changed) this.#deps.metrics?.reloadLastSuccess.set(this.#deps.now() / 1000);
      log.info({ by: trigger.by, generation: result.generation, changes: result.summary }, result.changed ? 'scopes and clients reloaded' : 'scopes and clients reloaded: nothing changed');
    } else {
      log.error({ by: trigger.by, error: result.error, problems: result.problems }, 'reload refused: the scopes and clients in force are unchanged');
      await this.#deps.record({ ...this.#record(trigger, `${result.error}: ${result.problems.slice(0, MAX_PROBLEMS).join('; ')}`.slice(0, 4000)), decision: 'denied' })
        .catch((err: unknown) => { log.error({ err }, 'the refused reload could not be recorded'); });
    }
    return result;
  }

  #record(trigger: ReloadTrigger, reason: string): AdminActionRecord {
    return adminRecord({
      nowMs: this.#deps.now(), action: 'reload_config', by: trigger.by, target: { kind: 'config', value: 'scopes+clients' },
      reason, request_id: trigger.requestId ?? randomUUID(), caller: { address: trigger.callerAddress ?? 'broker' },
    });
  }
}
