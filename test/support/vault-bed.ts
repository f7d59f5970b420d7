/**
 * TEST BED for the vault: the broker side (the vault and its /connect routes on a real HTTP server), a real
 * SaaS authorization server (vault-saas.ts), the store in memory or in Redis under a unique prefix, and a
 * small HTTP client with a cookie jar that walks the consent flow through the real pages.
 *
 * The person sign-in here is a TEST STAND-IN for the broker's real one (the console's, through the trusted
 * identity provider): a cookie naming the person, set by /test-only/sign-in. It implements PersonSignIn.
 */
import { randomBytes } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import { Redis } from 'ioredis';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';
import { close, listen, serve } from '../../src/server/listen.js';
import { connectCallbackUrl, connectRouter, connectUrl } from '../../src/upstream/connect/connect-routes.js';
import type { PersonSignIn } from '../../src/upstream/connect/signed-in-person.js';
import { createSaasClient, type VaultUpstream } from '../../src/upstream/vault/saas-client.js';
import { MemoryVaultStore } from '../../src/upstream/vault/memory-vault-store.js';
import { RedisVaultStore } from '../../src/upstream/vault/redis-vault-store.js';
import { Vault, type VaultTool } from '../../src/upstream/vault/vault.js';
import type { VaultKeyRing } from '../../src/upstream/vault/vault-keys.js';
import type { VaultStore } from '../../src/upstream/vault/vault-store.js';
import type { AdminActionRecord } from '../../src/admin/admin-record.js';
import { startVaultSaas, type VaultSaas } from './vault-saas.js';
import { REDIS_URL } from './redis.js';

export const TOOL = 'crm';

export function ringOf(...kids: string[]): VaultKeyRing {
  const keys = kids.map((kid) => ({ kid, key: randomBytes(32), created: new Date().toISOString() }));
  return { active: keys[keys.length - 1]!, byKid: new Map(keys.map((k) => [k.kid, k])) };
}

/** Everything logged, as text: tests assert no token ever appears in it. */
export function capturedLogger(): { log: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { chunks.push(chunk.toString('utf8')); cb(); } });
  return { log: createLogger('debug', sink), text: () => chunks.join('') };
}

export interface Replica {
  readonly vault: Vault;
  readonly store: VaultStore;
  close(): Promise<void>;
}

export interface VaultBed {
  readonly broker: string;
  readonly saas: VaultSaas;
  readonly tool: VaultTool;
  ring: VaultKeyRing;
  readonly vault: Vault;
  readonly store: VaultStore;
  readonly records: AdminActionRecord[];
  readonly logs: () => string;
  /** Another broker replica: its own vault and store connection, the same Redis (redis beds only). */
  replica(): Replica;
  close(): Promise<void>;
}

export interface VaultBedOptions {
  readonly redisPrefix?: string;
  readonly accessTokenTtlSeconds?: number;
  readonly timeoutMs?: number;
  readonly revocation?: boolean;
  readonly refreshMarginMs?: number;
  /** The real person sign-in instead of the stand-in: built once the broker's URL is known. */
  readonly personSignIn?: (broker: string) => Promise<{ signIn: PersonSignIn; routes: Koa.Middleware; close: () => Promise<void> }>;
}

export async function startVaultBed(opts: VaultBedOptions = {}): Promise<VaultBed> {
  const { server, port } = await listen(undefined, '127.0.0.1', 0);
  const broker = `http://127.0.0.1:${String(port)}`;
  const saas = await startVaultSaas({
    redirectUris: [connectCallbackUrl(broker, TOOL)],
    ...(opts.accessTokenTtlSeconds !== undefined ? { accessTokenTtlSeconds: opts.accessTokenTtlSeconds } : {}),
    ...(opts.revocation !== undefined ? { revocation: opts.revocation } : {}),
  });
  const upstream: VaultUpstream = {
    issuer: saas.issuer, clientId: saas.clientId, clientAuth: { method: 'client_secret_basic', secret: saas.clientSecret },
    scopes: saas.scopes, redirectUri: connectCallbackUrl(broker, TOOL), timeoutMs: opts.timeoutMs ?? 2000, allowInsecureHttp: true,
  };
  const tool: VaultTool = { tool: TOOL, upstream, client: createSaasClient(upstream) };
  const { log, text } = capturedLogger();
  const records: AdminActionRecord[] = [];
  const redisClients: Redis[] = [];
  const newStore = (): VaultStore => {
    if (opts.redisPrefix === undefined) return new MemoryVaultStore();
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    redisClients.push(redis);
    return new RedisVaultStore(redis, opts.redisPrefix);
  };
  const bed = {} as { ring: VaultKeyRing };
  bed.ring = ringOf('k1');
  const newVault = (store: VaultStore, toolFor: VaultTool = tool): Vault => new Vault({
    store, keys: () => bed.ring, tools: () => new Map([[TOOL, toolFor]]), connectUrl: (t) => connectUrl(broker, t), log,
    record: (r) => { records.push(r); return Promise.resolve(); },
    ...(opts.refreshMarginMs !== undefined ? { refreshMarginMs: opts.refreshMarginMs } : {}),
  });
  const store = newStore();
  const vault = newVault(store);

  const real = opts.personSignIn ? await opts.personSignIn(broker) : undefined;
  // TEST STAND-IN for the broker's person sign-in (see the header), unless the real one is given.
  const signIn: PersonSignIn = real?.signIn ?? {
    current: (ctx) => { const sub = ctx.cookies.get('test_person'); return Promise.resolve(sub ? { sub } : undefined); },
    signInUrl: (returnTo) => `/test-only/sign-in?return_to=${encodeURIComponent(returnTo)}`,
  };
  const app = new Koa();
  const testRoutes = new Router();
  testRoutes.get('/test-only/sign-in', (ctx) => {
    const sub = ctx.query.sub;
    if (typeof sub !== 'string') { ctx.status = 400; ctx.body = 'who?'; return; }
    ctx.cookies.set('test_person', sub, { httpOnly: true, sameSite: 'lax' });
    ctx.body = 'signed in';
  });
  app.use(testRoutes.routes());
  if (real) app.use(real.routes);
  app.use(connectRouter({ vault, tools: () => new Map([[TOOL, tool]]), keys: () => bed.ring, signIn, brokerIssuer: broker, log }).routes());
  serve(server, app.callback());

  return Object.assign(bed, {
    broker, saas, tool, vault, store, records, logs: text,
    replica: () => {
      const s = newStore();
      // Its own SaaS client too: nothing is shared with the first replica but Redis.
      return { vault: newVault(s, { ...tool, client: createSaasClient(upstream) }), store: s, close: () => Promise.resolve() };
    },
    close: async () => {
      for (const r of redisClients) r.disconnect();
      await close(server);
      await saas.close();
      await real?.close();
    },
  });
}

/** A browser-like HTTP client: a cookie jar per origin and path, redirects followed by hand. */
export class CookieClient {
  /** origin → "path\tname" → value */
  readonly #jar = new Map<string, Map<string, string>>();

  #cookies(url: URL): string {
    const sent: string[] = [];
    for (const [key, value] of this.#jar.get(url.origin) ?? []) {
      const [path, name] = key.split('\t') as [string, string];
      if (url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : `${path}/`)) sent.push(`${name}=${value}`);
    }
    return sent.join('; ');
  }

  #remember(url: URL, response: Response): void {
    const jar = this.#jar.get(url.origin) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const pathAttr = attributes.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='));
      const key = `${pathAttr ? pathAttr.slice(5) : '/'}\t${name}`;
      if (value === '' || /expires=Thu, 01 Jan 1970/iu.test(line)) jar.delete(key);
      else jar.set(key, value);
    }
    this.#jar.set(url.origin, jar);
  }

  /** Drops a cookie (as a browser does not send a SameSite=Strict one on a cross-site redirect). */
  forget(origin: string, name: string): void {
    const jar = this.#jar.get(origin);
    for (const key of [...(jar?.keys() ?? [])]) if (key.endsWith(`\t${name}`)) jar!.delete(key);
  }

  /** One request, no redirect following. */
  async request(url: string | URL, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const headers: Record<string, string> = { ...init.headers };
    const cookie = this.#cookies(target);
    if (cookie) headers.cookie = cookie;
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(target, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, redirect: 'manual', ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}) });
    this.#remember(target, response);
    return response;
  }

  /** Follows redirects (GET after each) until a page answers; returns it with its URL. */
  async follow(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<{ url: URL; response: Response; text: string }> {
    let target = new URL(url);
    let response = await this.request(target, init);
    for (let hops = 0; response.status >= 300 && response.status < 400; hops++) {
      if (hops > 10) throw new Error('too many redirects');
      target = new URL(response.headers.get('location')!, target);
      response = await this.request(target);
    }
    return { url: target, response, text: await response.text() };
  }
}

/** Walks the consent through the real pages: sign in at the broker (stand-in), SaaS login, SaaS consent. */
export async function connectThroughPages(bed: Pick<VaultBed, 'broker' | 'saas'>, user: string, password: string, client = new CookieClient(), opts: { dropSessionAtSaas?: boolean } = {}): Promise<{ url: URL; response: Response; text: string }> {
  await client.follow(`${bed.broker}/test-only/sign-in?sub=${encodeURIComponent(user)}`);
  let page = await client.follow(`${bed.broker}/connect/${TOOL}`);
  if (opts.dropSessionAtSaas) client.forget(bed.broker, 'test_person');
  for (let step = 0; step < 5; step++) {
    if (page.url.origin !== bed.saas.issuer) return page;
    const action = /<form method="post" action="([^"]+)"/u.exec(page.text)?.[1];
    if (!action) throw new Error(`no form on ${page.url.href}: ${page.text.slice(0, 200)}`);
    const form: Record<string, string> = action.endsWith('/login') ? { username: user, password } : {};
    page = await client.follow(new URL(action.replace(/&#47;/gu, '/'), page.url), { method: 'POST', form });
  }
  return page;
}
