/**
 * The one place that creates a Redis client, for a single server (`url`), a Sentinel-managed master or a
 * Redis Cluster. Every client fails fast: no offline queue, no command retries, bounded command and connect
 * timeouts, background reconnects. A command that cannot run now rejects at once, and callers that would
 * mint a token fail closed (StateUnavailableError -> 503 temporarily_unavailable).
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { StateUnavailableError } from './shared-state.js';

export type RedisClient = Redis | Cluster;

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** Where Redis is: exactly one of a URL, a Sentinel group or Cluster seed nodes. */
export type RedisEndpoint =
  | { readonly url: string }
  | { readonly sentinel: { readonly sentinels: readonly RedisNode[]; readonly name: string; readonly password?: string } }
  | { readonly cluster: { readonly nodes: readonly RedisNode[] } };

/** Connection options safe to pass through. Secrets arrive resolved (from an env variable or a file), never from YAML. */
export type RedisConnectOptions = RedisEndpoint & {
  readonly username?: string;
  readonly password?: string;
  /** TLS to the data nodes; `ca` is a PEM bundle. */
  readonly tls?: { readonly ca?: string; readonly servername?: string };
  /** Database number (not with a cluster). */
  readonly db?: number;
  /** Bound on any single command (default 500 ms). */
  readonly commandTimeoutMs?: number;
  /** Bound on establishing a connection (default 2 s). */
  readonly connectTimeoutMs?: number;
};

export const DEFAULT_COMMAND_TIMEOUT_MS = 500;
const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/** Reconnect backoff: 100 ms, 200 ms, ... capped at 1 s, forever (the broker recovers without a restart). */
const backoff = (attempt: number): number => Math.min(attempt * 100, 1000);

/** Per-node options; `enableOfflineQueue` is set where each client kind takes it. */
function nodeOptions(opts: RedisConnectOptions): Omit<RedisOptions, 'enableOfflineQueue'> {
  return {
    maxRetriesPerRequest: 0,
    // Commands issued in the same tick (the rate-limit windows, concurrent exchanges) share one write.
    enableAutoPipelining: true,
    commandTimeout: opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ...(opts.username === undefined ? {} : { username: opts.username }),
    ...(opts.password === undefined ? {} : { password: opts.password }),
    ...(opts.tls ? { tls: { ...(opts.tls.ca ? { ca: opts.tls.ca } : {}), ...(opts.tls.servername ? { servername: opts.tls.servername } : {}) } } : {}),
  };
}

/** Creates the client; it connects in the background. Use `connectRedis` to wait until it answers. */
export function createRedisClient(opts: RedisConnectOptions): RedisClient {
  const common = nodeOptions(opts);
  let client: RedisClient;
  if ('cluster' in opts) {
    const clusterOptions: ClusterOptions = {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: backoff,
      // A redirection (MOVED/ASK during resharding or failover) is followed at once, not queued.
      maxRedirections: 16,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      redisOptions: common,
    };
    client = new Cluster(opts.cluster.nodes.map((n) => ({ host: n.host, port: n.port })), clusterOptions);
  } else if ('sentinel' in opts) {
    client = new Redis({
      ...common,
      enableOfflineQueue: false,
      sentinels: opts.sentinel.sentinels.map((n) => ({ host: n.host, port: n.port })),
      name: opts.sentinel.name,
      ...(opts.sentinel.password === undefined ? {} : { sentinelPassword: opts.sentinel.password }),
      sentinelRetryStrategy: backoff,
      retryStrategy: backoff,
      // After a failover: follow the Sentinels' +switch-master at once, and drop a connection that still
      // points at the demoted master (its writes fail READONLY) so the next command goes to the new one.
      // The failing command is not resent: the exchange fails closed and the next one succeeds.
      failoverDetector: true,
      reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 1 : false),
      ...(opts.db === undefined ? {} : { db: opts.db }),
    });
  } else {
    client = new Redis(opts.url, { ...common, enableOfflineQueue: false, retryStrategy: backoff, ...(opts.db === undefined ? {} : { db: opts.db }) });
  }
  // Connection errors surface as failed commands; the client keeps reconnecting.
  client.on('error', () => undefined);
  return client;
}

/** Where the client points, for messages (never credentials). */
export function describeEndpoint(opts: RedisEndpoint): string {
  if ('cluster' in opts) return `redis cluster ${opts.cluster.nodes.map((n) => `${n.host}:${String(n.port)}`).join(',')}`;
  if ('sentinel' in opts) return `redis sentinel master "${opts.sentinel.name}"`;
  try {
    return `redis at ${new URL(opts.url).host}`;
  } catch {
    return 'redis';
  }
}

/** Creates the client and waits (bounded) until it is ready; the broker calls this before serving. */
export async function connectRedis(opts: RedisConnectOptions & { readonly timeoutMs?: number }): Promise<RedisClient> {
  const client = createRedisClient(opts);
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  while (client.status !== 'ready') {
    if (Date.now() > deadline) {
      client.disconnect();
      throw new StateUnavailableError(`${describeEndpoint(opts)} is not reachable`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return client;
}
