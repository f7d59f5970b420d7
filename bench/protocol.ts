/**
 * What the bench orchestrator (run.ts) and its child processes tell each other. Every child receives its
 * configuration as JSON in the BENCH_CONFIG environment variable; servers print one `READY {json}` line on
 * stdout once they listen, and exit cleanly on SIGTERM (so `--cpu-prof` profiles get written).
 */
import type { Server } from 'node:http';
import { close } from '../src/server/listen.js';

export const BENCH_AUDIENCE = 'https://broker.bench.test';
export const BENCH_CLIENT_ID = 'bench-agent';
export const BENCH_SECRET = 'bench-agent-secret-not-for-production';
export const BENCH_RESOURCE = 'https://crm.example.test/api';
export const BENCH_SCOPE = 'crm.accounts.read';
export const TE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const AT_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface ServerReady {
  readonly url: string;
}

export const BENCH_ADMIN_ID = 'bench-admin';
export const BENCH_VALIDATOR_ID = 'bench-validator';

export interface BrokerServerConfig {
  readonly upstreamIssuer: string;
  /**
   * `chained`: records chained and serialised as the JSONL sink does, group-committed, never written (no I/O);
   * `delayed`: the same, each batch released 1 ms later (a disk's wait without the disk).
   */
  readonly sink: 'memory' | 'jsonl' | 'chained' | 'delayed';
  /** Where suspensions, revocations, rate-limit counters and the client-assertion replay cache live. */
  readonly state?: { readonly kind: 'memory' } | { readonly kind: 'redis'; readonly url: string; readonly prefix: string };
  /** scrypt hashes of the admin and validator keys the orchestrator holds (validator scenario). */
  readonly adminKeyHash?: string;
  readonly validatorKeyHash?: string;
  /** Revocation-feed caps (broker-feed-subscribers: above the defaults, to hold 1,000 subscribers on one key). */
  readonly feed?: { readonly maxPerKey: number; readonly maxSubscribers: number; readonly revokeEveryMs?: number };
  /**
   * What a deployed broker has by default and the hand-built bench config otherwise leaves out: the per-source
   * limit before client authentication (`rate_limits.per_source`) and unauthenticated denials aggregated per
   * source and interval (`attribution.unauthenticated_interval`), both at their defaults (load-broker-config.ts).
   * Off for the throughput scenarios: their one load generator is one source far above the per-source default.
   */
  readonly deployedDefaults?: boolean;
}

export interface ValidatorBenchConfig {
  readonly brokerIssuer: string;
  readonly resource: string;
  readonly validatorKey: string;
  /** Broker tokens, one per line; the first one has been revoked (the run checks it is refused). */
  readonly tokensFile: string;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /** How long the validator may wait for its first complete snapshot (large rule sets). */
  readonly snapshotTimeoutMs?: number;
}

export interface ValidatorBenchResult {
  /** TokenValidator.validate with the revocation feed followed (signature, claims, actor policy, revocation). */
  readonly validatorPerSec: number;
  /** jose.jwtVerify of the same tokens against the same public keys (local key set), nothing else. */
  readonly josePerSec: number;
  readonly tokens: number;
  /** The revoked token was refused as revoked (evidence the revocation check ran). */
  readonly revokedRefused: boolean;
}

export interface LoadConfig {
  readonly url: string;
  readonly headers: Record<string, string>;
  /** A fixed form body, or a template in which `{{TOKEN}}` is replaced by the next token of `tokenPoolFile`. */
  readonly body: string;
  readonly tokenPoolFile?: string;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /** Open-loop fixed rate (req/s over all connections, see paced.ts) instead of autocannon as fast as possible. */
  readonly overallRate?: number;
  /** A successful response body must contain this string (checked once before the run). */
  readonly expect: string;
  /** The server's pid: its CPU time during the measured run is reported (Linux /proc). */
  readonly serverPid?: number;
}

export interface LoadResult {
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly durationSeconds: number;
  /** How many distinct pool tokens were sent, and whether the pool wrapped around (fresh-token scenarios). */
  readonly tokensUsed?: number;
  readonly poolWrapped?: boolean;
  /** CPU seconds (user + system, all threads) the server used during the measured run only. */
  readonly serverCpuSeconds?: number;
}

export interface UnitConfig {
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
}

export interface UnitResult {
  readonly opsPerSec: number;
  readonly ops: number;
  readonly durationSeconds: number;
}

export function readConfig(): unknown {
  const raw = process.env.BENCH_CONFIG;
  if (raw === undefined) throw new Error('BENCH_CONFIG is not set');
  return JSON.parse(raw) as unknown;
}

/** Prints the READY line and exits cleanly on SIGTERM/SIGINT after closing the server and running `cleanup`. */
export function announce(server: Server, port: number, cleanup: () => Promise<void> = () => Promise.resolve()): void {
  const stop = (): void => {
    void (async () => {
      server.closeAllConnections();
      await close(server);
      await cleanup();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const ready: ServerReady = { url: `http://127.0.0.1:${port}` };
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
}

/** `npm run bench -- --alternate N`: one load generator moving between servers that run side by side. */
export interface AlternateLoadConfig {
  /** The servers, baseline first; all receive the same requests. */
  readonly targets: readonly { readonly id: string; readonly url: string; readonly serverPid?: number }[];
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly tokenPoolFile?: string;
  readonly connections: number;
  /** Warm-up of every target before the first cycle. */
  readonly warmupSeconds: number;
  /** Unmeasured load before each measured slice (the server's pipeline fills up again). */
  readonly sliceWarmupSeconds: number;
  readonly sliceSeconds: number;
  /** Cycles: each measures every target once, in table order in even cycles and reversed in odd ones. */
  readonly cycles: number;
  readonly expect: string;
}

export interface AlternateSlice {
  readonly cycle: number;
  readonly target: number;
  /** When the slice (with its unmeasured lead-in) began, ms after the first slice. */
  readonly startedMs: number;
  readonly reqPerSec: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p99Ms: number;
  readonly serverCpuSeconds?: number;
  /** CPU seconds the other (idle) servers used during this slice, together. */
  readonly idleServersCpuSeconds?: number;
}

export interface AlternateLoadResult {
  readonly slices: readonly AlternateSlice[];
}
