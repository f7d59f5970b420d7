/**
 * The vault: per-user SaaS grants the user connected once (the consent flow in ../connect/), kept sealed
 * in a store shared by the replicas, turned into access tokens on demand.
 *
 * Refresh tokens rotate at most SaaS (RFC 9700 §4.14.2): a refresh token used twice is treated as stolen
 * and the whole grant is revoked. So a refresh happens under a lease held in the store (one replica at a
 * time), the lease outlives the bounded call to the SaaS, and the result is written by compare-and-set
 * fenced by that lease. Other replicas (and other requests of this one) wait for the holder's result.
 */
import type { Logger } from '../../log.js';
import type { AdminActionRecord } from '../../admin/admin-record.js';
import type { UpstreamConnector, UpstreamCredential, UpstreamRequest, UpstreamResult } from '../connector.js';
import { classify, SaasRefusal, type SaasClient, type SaasTokens, type VaultUpstream } from './saas-client.js';
import { seal, unseal, UnsealError } from './seal.js';
import type { VaultKeyRing } from './vault-keys.js';
import { connectionKey, type ConnectionId, type ConnectionMeta, type Lease, type StoredConnection, type VaultStore } from './vault-store.js';
import { afterRefresh, parseSecrets, pickCached, scopeKey, serializeSecrets, withinGrant, type CachedAccessToken, type ConnectionSecrets } from './vault-entry.js';
import { vaultRecord, type VaultActor } from './vault-record.js';

export interface VaultTool {
  readonly tool: string;
  readonly upstream: VaultUpstream;
  readonly client: SaasClient;
}

export interface VaultDeps {
  readonly store: VaultStore;
  readonly keys: () => VaultKeyRing;
  /** The catalog's tools of kind `vault`, by tool id. */
  readonly tools: () => ReadonlyMap<string, VaultTool>;
  /** Where a user connects a tool: `<broker>/connect/<tool>`. */
  readonly connectUrl: (tool: string) => string;
  readonly log: Logger;
  readonly now?: () => number;
  /** Connections made, deleted and purged are attributed (same stream as every decision). */
  readonly record?: (record: AdminActionRecord) => Promise<void>;
  /** A cached access token is not handed out when it expires within this (default 30 s). */
  readonly refreshMarginMs?: number;
  /** How often a replica waiting for another's refresh looks again (default 25 ms). */
  readonly pollMs?: number;
}

/** The stored connection could not be opened: unknown key id, not authentic, not what this code writes. */
class VaultUnreadable extends Error {
  override readonly name = 'VaultUnreadable';
}

export interface ConnectionSummary {
  readonly tool: string;
  readonly upstream: string;
  readonly scopes: readonly string[];
  readonly connectedAt: string;
  readonly refreshedAt?: string;
}

export interface DisconnectOutcome {
  readonly deleted: boolean;
  /** RFC 7009 at the SaaS: done, not offered by that server, or it failed (the grant is deleted here anyway). */
  readonly revokedAtSaas: 'revoked' | 'unsupported' | 'failed' | 'not_applicable';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function credential(cached: CachedAccessToken): UpstreamCredential {
  return { accessToken: cached.accessToken, tokenType: cached.tokenType, expiresAtMs: cached.expiresAtMs, scopes: cached.scopes };
}

/** The whole of one obtain is bounded: discovery and refresh (each bounded by the upstream's timeout) plus slack. */
export function obtainBoundMs(upstream: VaultUpstream): number {
  return 2 * upstream.timeoutMs + 1000;
}

/** A lease outlives the longest refresh its holder can be making, so no second replica starts one meanwhile. */
export function leaseMs(upstream: VaultUpstream): number {
  return obtainBoundMs(upstream) + 1000;
}

export class Vault {
  readonly #d: VaultDeps;
  readonly #now: () => number;
  readonly #inFlight = new Map<string, Promise<UpstreamResult>>();

  constructor(deps: VaultDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  get store(): VaultStore { return this.#d.store; }

  /** The `vault` connector for the onward exchange. */
  connector(): UpstreamConnector {
    return { kind: 'vault', obtain: (request, signal) => this.obtain(request, signal) };
  }

  #open(entry: StoredConnection, id: ConnectionId): ConnectionSecrets {
    let text: string;
    try {
      text = unseal(this.#d.keys(), { purpose: 'connection', ...id }, entry.sealed);
    } catch (err) {
      if (err instanceof UnsealError) throw new VaultUnreadable(err.message);
      throw err;
    }
    const secrets = parseSecrets(text);
    if (!secrets) throw new VaultUnreadable('sealed value is not a connection');
    return secrets;
  }

  #sealed(id: ConnectionId, meta: Omit<ConnectionMeta, 'kid'>, secrets: ConnectionSecrets, version: number): StoredConnection {
    const ring = this.#d.keys();
    return { version, meta: { ...meta, kid: ring.active.kid }, sealed: seal(ring, { purpose: 'connection', ...id }, serializeSecrets(secrets)) };
  }

  #id(tool: VaultTool, user: string): ConnectionId {
    return { user, tool: tool.tool, upstream: tool.upstream.issuer };
  }

  async obtain(request: UpstreamRequest, signal?: AbortSignal): Promise<UpstreamResult> {
    const tool = this.#d.tools().get(request.tool);
    if (!tool) return { failure: 'unavailable', description: `tool ${request.tool} has no vault upstream` };
    const id = this.#id(tool, request.user.sub);
    const bound = obtainBoundMs(tool.upstream);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<UpstreamResult>((resolve) => {
      timer = setTimeout(() => { resolve({ failure: 'unavailable', description: `the SaaS authorization server did not answer within ${String(bound)} ms` }); }, bound);
      signal?.addEventListener('abort', () => { resolve({ failure: 'unavailable', description: 'the request was abandoned' }); }, { once: true });
    });
    try {
      return await Promise.race([this.#obtain(id, tool, request, this.#now() + bound), timeout]);
    } catch (err) {
      this.#d.log.error({ err: err instanceof Error ? { name: err.name, message: err.message } : 'error', tool: id.tool, user: id.user }, 'vault: no credential, failing closed');
      return { failure: 'unavailable', description: err instanceof VaultUnreadable ? 'the stored connection cannot be read' : 'the vault is unavailable' };
    } finally {
      clearTimeout(timer);
    }
  }

  async #obtain(id: ConnectionId, tool: VaultTool, request: UpstreamRequest, deadline: number): Promise<UpstreamResult> {
    const entry = await this.#d.store.get(id);
    if (!entry) return { failure: 'not_connected', connectUrl: this.#d.connectUrl(id.tool) };
    // Never wider than the user granted when connecting (RFC 6749 §6): refused, not retried otherwise.
    if (!withinGrant(request.upstreamScopes, entry.meta.scopes)) {
      return { failure: 'refused', error: 'invalid_scope', description: 'the connection does not grant these scopes; the user may connect again to grant them' };
    }
    if (request.agent !== undefined) await this.#d.store.noteAgent({ ...id, connectedAtMs: entry.meta.connectedAtMs }, request.agent);
    const cached = pickCached(this.#open(entry, id), request.upstreamScopes, this.#now(), this.#margin());
    if (cached) return credential(cached);
    const flightKey = `${connectionKey(id)} ${scopeKey(request.upstreamScopes)}`;
    let flight = this.#inFlight.get(flightKey);
    if (!flight) {
      flight = this.#refreshAcrossReplicas(id, tool, request.upstreamScopes, deadline).finally(() => { this.#inFlight.delete(flightKey); });
      this.#inFlight.set(flightKey, flight);
    }
    return flight;
  }

  #margin(): number { return this.#d.refreshMarginMs ?? 30_000; }

  async #refreshAcrossReplicas(id: ConnectionId, tool: VaultTool, scopes: readonly string[], deadline: number): Promise<UpstreamResult> {
    for (;;) {
      const lease = await this.#d.store.lock(id, leaseMs(tool.upstream));
      if (lease) {
        try {
          return await this.#refreshHolding(id, tool, scopes, lease);
        } finally {
          await this.#d.store.unlock(id, lease).catch((err: unknown) => { this.#d.log.warn({ err, tool: id.tool }, 'vault: lease not released (it expires on its own)'); });
        }
      }
      // Another replica is refreshing this connection: its result is written to the store; wait for it.
      await sleep(this.#d.pollMs ?? 25);
      if (this.#now() > deadline) return { failure: 'unavailable', description: 'a refresh of this connection by another replica did not finish in time' };
      const entry = await this.#d.store.get(id);
      if (!entry) return { failure: 'not_connected', connectUrl: this.#d.connectUrl(id.tool) };
      const cached = pickCached(this.#open(entry, id), scopes, this.#now(), this.#margin());
      if (cached) return credential(cached);
    }
  }

  async #refreshHolding(id: ConnectionId, tool: VaultTool, scopes: readonly string[], lease: Lease): Promise<UpstreamResult> {
    // Read again under the lease: another holder may have refreshed between our first read and now.
    const entry = await this.#d.store.get(id);
    if (!entry) return { failure: 'not_connected', connectUrl: this.#d.connectUrl(id.tool) };
    const secrets = this.#open(entry, id);
    const cached = pickCached(secrets, scopes, this.#now(), this.#margin());
    if (cached) return credential(cached);
    let tokens: SaasTokens;
    try {
      tokens = await tool.client.refresh(secrets.refreshToken, scopes);
    } catch (err) {
      const failure = classify(err);
      if (failure instanceof SaasRefusal) {
        if (failure.error === 'invalid_grant') {
          // RFC 6749 §5.2: the grant is gone at the SaaS (revoked there, expired, or reuse detected): so is the connection.
          await this.#d.store.delete(id);
          this.#d.log.warn({ tool: id.tool, user: id.user, upstream: id.upstream }, 'vault: the SaaS no longer honours the connection; deleted');
          return { failure: 'not_connected', connectUrl: this.#d.connectUrl(id.tool) };
        }
        return { failure: 'refused', error: failure.error, ...(failure.description !== undefined ? { description: failure.description } : {}) };
      }
      this.#d.log.warn({ tool: id.tool, upstream: id.upstream, reason: failure.message }, 'vault: refresh failed, SaaS unavailable');
      return { failure: 'unavailable', description: failure.message };
    }
    const nowMs = this.#now();
    const next = afterRefresh(secrets, scopes, tokens, nowMs);
    // A rotated refresh token is kept even when the access token is refused: the old one is spent.
    const nextSecrets = next.ok ? next.secrets : { refreshToken: tokens.refreshToken ?? secrets.refreshToken, accessTokens: secrets.accessTokens };
    const written = await this.#d.store.put(this.#sealed(id, { ...entry.meta, refreshedAtMs: nowMs }, nextSecrets, entry.version + 1), entry.version, lease);
    if (!written) {
      this.#d.log.error({ tool: id.tool, user: id.user, upstream: id.upstream }, 'vault: a refresh could not be stored (lease lost or connection replaced); the next refresh may find the grant revoked');
    }
    if (!next.ok) return { failure: 'unavailable', description: next.why };
    this.#d.log.info({ tool: id.tool, user: id.user, upstream: id.upstream, kid: this.#d.keys().active.kid }, 'vault: connection refreshed');
    return credential(next.credential);
  }

  /** Runs `fn` holding the connection's lease (waiting for a refresh in progress), within `boundMs`. */
  async #withLease<T>(id: ConnectionId, boundMs: number, fn: (lease: Lease) => Promise<T>): Promise<T> {
    const deadline = this.#now() + boundMs;
    for (;;) {
      const lease = await this.#d.store.lock(id, boundMs);
      if (lease) {
        try {
          return await fn(lease);
        } finally {
          await this.#d.store.unlock(id, lease).catch(() => undefined);
        }
      }
      if (this.#now() > deadline) throw new Error('the connection is being refreshed; try again');
      await sleep(this.#d.pollMs ?? 25);
    }
  }

  /** The consent's result: stored sealed; a connection it replaces is revoked at the SaaS. */
  async connect(tool: VaultTool, user: string, tokens: SaasTokens, actor: VaultActor): Promise<void> {
    if (tokens.refreshToken === undefined) throw new SaasRefusal('invalid_grant', 'the SaaS issued no refresh token, so there is nothing to keep', 502);
    const id = this.#id(tool, user);
    const nowMs = this.#now();
    const granted = tokens.scopes ?? tool.upstream.scopes;
    const first = afterRefresh({ refreshToken: tokens.refreshToken, accessTokens: [] }, granted, tokens, nowMs);
    const secrets: ConnectionSecrets = first.ok ? first.secrets : { refreshToken: tokens.refreshToken, accessTokens: [] };
    const replaced = await this.#withLease(id, leaseMs(tool.upstream), async (lease) => {
      const existing = await this.#d.store.get(id);
      const meta = { ...id, scopes: granted, connectedAtMs: nowMs };
      if (!(await this.#d.store.put(this.#sealed(id, meta, secrets, (existing?.version ?? 0) + 1), existing?.version, lease))) {
        throw new Error('the connection changed while it was being stored; connect again');
      }
      return existing;
    });
    await this.#record('vault.connect', id, actor);
    if (replaced) await this.#revokeAtSaas(tool, id, replaced);
  }

  async list(user: string): Promise<ConnectionSummary[]> {
    const entries = await this.#d.store.listUser(user);
    return entries.map(({ meta }) => ({
      tool: meta.tool, upstream: meta.upstream, scopes: meta.scopes, connectedAt: new Date(meta.connectedAtMs).toISOString(),
      ...(meta.refreshedAtMs !== undefined ? { refreshedAt: new Date(meta.refreshedAtMs).toISOString() } : {}),
    }));
  }

  /** Deletes the connection here, then revokes its refresh token at the SaaS (RFC 7009) where offered. */
  async disconnect(toolId: string, user: string, actor: VaultActor): Promise<DisconnectOutcome> {
    const tool = this.#d.tools().get(toolId);
    if (!tool) return { deleted: false, revokedAtSaas: 'not_applicable' };
    return this.#disconnect(tool, this.#id(tool, user), actor);
  }

  async #disconnect(tool: VaultTool | undefined, id: ConnectionId, actor: VaultActor): Promise<DisconnectOutcome> {
    const was = await this.#d.store.delete(id);
    if (!was) return { deleted: false, revokedAtSaas: 'not_applicable' };
    await this.#record('vault.disconnect', id, actor);
    return { deleted: true, revokedAtSaas: tool ? await this.#revokeAtSaas(tool, id, was) : 'failed' };
  }

  async #revokeAtSaas(tool: VaultTool, id: ConnectionId, entry: StoredConnection): Promise<DisconnectOutcome['revokedAtSaas']> {
    try {
      return await tool.client.revoke(this.#open(entry, id).refreshToken);
    } catch (err) {
      this.#d.log.warn({ tool: id.tool, upstream: id.upstream, reason: err instanceof Error ? err.message : 'error' }, 'vault: revocation at the SaaS failed (the connection is deleted here)');
      return 'failed';
    }
  }

  /** A person revoked the user: every connection of theirs is deleted and revoked at the SaaS. */
  async purgeUser(user: string, actor: VaultActor): Promise<number> {
    const entries = await this.#d.store.listUser(user);
    const tools = this.#d.tools();
    const results = await Promise.all(entries.map(({ meta }) => this.#disconnect(tools.get(meta.tool), meta, actor)));
    return results.filter((r) => r.deleted).length;
  }

  /** A person revoked the agent: every connection its exchanges used is deleted and revoked at the SaaS. */
  async purgeAgent(agent: string, actor: VaultActor): Promise<number> {
    const uses = await this.#d.store.listAgent(agent);
    const tools = this.#d.tools();
    let deleted = 0;
    for (const use of uses) {
      const id: ConnectionId = { user: use.user, tool: use.tool, upstream: use.upstream };
      // Only the connection the agent used: one the user made again since was not.
      if ((await this.#d.store.get(id))?.meta.connectedAtMs !== use.connectedAtMs) continue;
      if ((await this.#disconnect(tools.get(id.tool), id, actor)).deleted) deleted += 1;
    }
    return deleted;
  }

  /** Cached access tokens dropped (a tool revoked, an agent suspended): the next obtain refreshes. */
  async dropCached(filter: { readonly tool?: string; readonly agent?: string }): Promise<number> {
    const ids = filter.agent !== undefined ? await this.#d.store.listAgent(filter.agent) : await this.#d.store.listAll();
    let dropped = 0;
    for (const id of ids.filter((i) => filter.tool === undefined || i.tool === filter.tool)) {
      const tool = this.#d.tools().get(id.tool);
      await this.#withLease(id, tool ? leaseMs(tool.upstream) : 10_000, async (lease) => {
        const entry = await this.#d.store.get(id);
        if (!entry) return;
        const secrets = this.#open(entry, id);
        if (secrets.accessTokens.length === 0) return;
        if (await this.#d.store.put(this.#sealed(id, entry.meta, { ...secrets, accessTokens: [] }, entry.version + 1), entry.version, lease)) dropped += 1;
      });
    }
    return dropped;
  }

  /**
   * Key rotation: every entry not under the active key is opened with the key it names and sealed again
   * under the active one. Entries are also re-sealed on every refresh; this finishes the job so the old
   * key can be retired. Returns what it did, by key id.
   */
  async reencryptAll(): Promise<{ readonly reencrypted: number; readonly current: number; readonly unreadable: number }> {
    const active = this.#d.keys().active.kid;
    let reencrypted = 0;
    let current = 0;
    let unreadable = 0;
    for (const id of await this.#d.store.listAll()) {
      const tool = this.#d.tools().get(id.tool);
      await this.#withLease(id, tool ? leaseMs(tool.upstream) : 10_000, async (lease) => {
        const entry = await this.#d.store.get(id);
        if (!entry) return;
        if (entry.meta.kid === active) { current += 1; return; }
        let secrets: ConnectionSecrets;
        try {
          secrets = this.#open(entry, id);
        } catch {
          unreadable += 1;
          this.#d.log.error({ tool: id.tool, user: id.user, kid: entry.meta.kid }, 'vault: an entry cannot be opened with the loaded keys');
          return;
        }
        if (await this.#d.store.put(this.#sealed(id, entry.meta, secrets, entry.version + 1), entry.version, lease)) reencrypted += 1;
      });
    }
    this.#d.log.info({ active, reencrypted, current, unreadable }, 'vault: re-encryption done');
    return { reencrypted, current, unreadable };
  }

  async #record(action: string, id: ConnectionId, actor: VaultActor): Promise<void> {
    if (this.#d.record) await this.#d.record(vaultRecord(action, id, actor, this.#now()));
  }
}
