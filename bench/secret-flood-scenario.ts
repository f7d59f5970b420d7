/**
 * `broker-secret-flood` (issue 14 item 3): legitimate exchanges at a fixed rate, first alone, then beside a
 * flood of 128 connections of wrong client secrets, against one broker with the durable (fsync) attribution
 * log, whose writes share libuv's thread pool with the secret hashes. Target: the legitimate p99 under the
 * flood within 2× of the same load without it, in the same run. The legitimate agent's secret is verified
 * before the flood (as a running agent's is), the flood comes from another loopback address (127.0.0.2), as from another machine.
 */
import { DEFAULT_PER_SOURCE_LIMIT } from '../src/config/load-broker-config.js';
import type { LoadConfig, LoadResult } from './protocol.js';
import type { SecretFloodConfig, SecretFloodResult } from './secret-flood.js';

export const SECRET_FLOOD_CONNECTIONS = 128;
/** The legitimate load: a fixed rate well under saturation, so that latency, not throughput, is compared. */
export const SECRET_FLOOD_LEGIT_RATE = 200;

export interface SecretFloodDeps {
  readonly serverUrl: string;
  readonly serverPid: number | undefined;
  /** The legitimate request (headers, body), as every broker scenario sends it. */
  readonly legit: Pick<LoadConfig, 'headers' | 'body' | 'expect'>;
  readonly flood: Pick<SecretFloodConfig, 'clientId' | 'body'>;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly runJsonChild: <T>(script: string, config: unknown) => Promise<T>;
  readonly log: (line: string) => void;
}

export interface SecretFloodOutcome {
  readonly quiet: LoadResult;
  readonly flooded: LoadResult;
  readonly flood: SecretFloodResult;
  /** flooded p99 / quiet p99 (target ≤ 2). */
  readonly p99Ratio: number;
}

/**
 * The legitimate load comes from one address (127.0.0.1), which the broker's default per-source limit
 * (DEFAULT_PER_SOURCE_LIMIT, 6000 per minute) also counts: both runs together must stay under it.
 */
export const LEGIT_SOURCE_BUDGET = DEFAULT_PER_SOURCE_LIMIT.limit;

export async function runSecretFloodScenario(deps: SecretFloodDeps): Promise<SecretFloodOutcome> {
  const legitRequests = 2 * SECRET_FLOOD_LEGIT_RATE * (deps.warmupSeconds + deps.durationSeconds);
  if (legitRequests >= LEGIT_SOURCE_BUDGET) {
    throw new Error(`broker-secret-flood: ${String(legitRequests)} legitimate requests from one address would reach its own per-source limit (${String(LEGIT_SOURCE_BUDGET)}/min); use --warmup + --duration ≤ 14 s`);
  }
  const legit: LoadConfig = {
    url: `${deps.serverUrl}/token`, ...deps.legit, connections: 16, overallRate: SECRET_FLOOD_LEGIT_RATE,
    warmupSeconds: deps.warmupSeconds, durationSeconds: deps.durationSeconds,
    ...(deps.serverPid !== undefined ? { serverPid: deps.serverPid } : {}),
  };
  const quiet = await deps.runJsonChild<LoadResult>('load.ts', legit);
  deps.log(`  quiet: ${quiet.reqPerSec.toFixed(0)} req/s, p99 ${quiet.p99Ms.toFixed(1)} ms`);
  // The flood starts first and outlasts the legitimate run (its warm-up included).
  const floodConfig: SecretFloodConfig = { url: `${deps.serverUrl}/token`, connections: SECRET_FLOOD_CONNECTIONS, seconds: Math.ceil(deps.warmupSeconds + deps.durationSeconds + 3), ...deps.flood };
  const flooding = deps.runJsonChild<SecretFloodResult>('secret-flood.ts', floodConfig);
  await new Promise((r) => setTimeout(r, 1000));
  const flooded = await deps.runJsonChild<LoadResult>('load.ts', legit);
  const flood = await flooding;
  deps.log(`  flooded: ${flooded.reqPerSec.toFixed(0)} req/s, p99 ${flooded.p99Ms.toFixed(1)} ms | flood ${flood.reqPerSec.toFixed(0)} req/s ${JSON.stringify(flood.byStatus)}`);
  return { quiet, flooded, flood, p99Ratio: flooded.p99Ms / quiet.p99Ms };
}
