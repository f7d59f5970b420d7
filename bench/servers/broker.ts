/**
 * The broker under test: the real createBroker() assembly, one client_secret_basic agent, the bench issuer
 * trusted for user tokens with audience BENCH_AUDIENCE, and either the in-memory or the durable JSONL
 * attribution sink (in a temporary directory removed on exit).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent, AgentRegistry } from '../../src/domain/agent.js';
import { JsonlFileSink } from '../../src/attribution/jsonl-file-sink.js';
import { chainBatch, type ChainState } from '../../src/attribution/chain-batch.js';
import { EMPTY_CHAIN } from '../../src/attribution/chain.js';
import { GroupCommit } from '../../src/attribution/group-commit.js';
import { MemorySink } from '../../src/attribution/memory-sink.js';
import type { AttributionRecord } from '../../src/attribution/record.js';
import type { AttributionSink } from '../../src/attribution/sink.js';
import { loadSigningKeys } from '../../src/keys/signing-keys.js';
import { createLogger } from '../../src/log.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { DEFAULT_KILL_SWITCH, DEFAULT_PER_SOURCE_LIMIT, DEFAULT_UNAUTHENTICATED_INTERVAL_MS } from '../../src/config/load-broker-config.js';
import { RedisState } from '../../src/state/redis-state.js';
import { createBroker } from '../../src/server/create-broker.js';
import { currentTurn } from '../../src/token-endpoint/loop-turn.js';
import { listen, serve } from '../../src/server/listen.js';
import { baseConfig, trustedIssuer } from '../../test/support/broker-harness.js';
import { testCatalog } from '../../test/support/catalog.js';
import { announce, BENCH_ADMIN_ID, BENCH_AUDIENCE, BENCH_CLIENT_ID, BENCH_SECRET, BENCH_VALIDATOR_ID, readConfig, type BrokerServerConfig } from '../protocol.js';

/** The memory sink keeps every record; the bench drops them so memory stays flat over long runs. */
class DiscardingMemorySink extends MemorySink {
  appended = 0;
  override append(record: Parameters<MemorySink['append']>[0]): Promise<void> {
    this.appended += 1;
    const done = super.append(record);
    this.records.length = 0;
    return done;
  }
}

/**
 * Everything the JSONL sink does to a batch except the I/O: group commit, chaining (seq, prev, hash) and
 * serialisation into the bytes it would write; with `delayMs`, each batch is released that much later, as if
 * it had waited for a disk. broker-durable − broker-chained is what the disk costs, broker-delayed shows how
 * much of that is the wait alone.
 */
class ChainedOnlySink implements AttributionSink {
  constructor(readonly delayMs = 0) {}
  chained = 0;
  bytes = 0;
  #state: ChainState = { head: EMPTY_CHAIN, sinceCheckpoint: 0 };
  readonly #commit = new GroupCommit<AttributionRecord>(async (batch) => {
    const { lines, state } = await chainBatch(batch, this.#state, { checkpointEveryRecords: 1000, forceCheckpoint: false, redact: (r) => r, now: () => new Date() });
    lines.push('');
    this.bytes += Buffer.from(lines.join('\n'), 'utf8').length;
    this.chained += batch.length;
    this.#state = state;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
  });
  append(record: AttributionRecord): Promise<void> {
    return this.#commit.submit(record);
  }
  async close(): Promise<void> {
    await this.#commit.idle();
  }
}

const cfg = readConfig() as BrokerServerConfig;
// Where latency tails come from: event-loop stalls and GC pauses, printed on exit.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const gcPauses: number[] = [];
const gcByKind = new Map<string, { count: number; total: number; max: number }>();
const GC_KINDS: Record<number, string> = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks' };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcPauses.push(e.duration);
    const kind = GC_KINDS[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
    const k = gcByKind.get(kind) ?? { count: 0, total: 0, max: 0 };
    gcByKind.set(kind, { count: k.count + 1, total: k.total + e.duration, max: Math.max(k.max, e.duration) });
  }
}).observe({ entryTypes: ['gc'] });
const dir = await mkdtemp(join(tmpdir(), 'broker-bench-'));
const keys = await loadSigningKeys(join(dir, 'keys'), { generateIfMissing: true });
const jsonlPath = join(dir, 'attribution', 'attribution.jsonl');
const sink: AttributionSink = cfg.sink === 'jsonl' ? new JsonlFileSink(jsonlPath) : cfg.sink === 'chained' ? new ChainedOnlySink() : cfg.sink === 'delayed' ? new ChainedOnlySink(1) : new DiscardingMemorySink();

const agent: Agent = {
  clientId: BENCH_CLIENT_ID,
  name: 'Bench agent',
  owner: 'bench@example.com',
  status: 'active',
  authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(BENCH_SECRET) },
  tools: new Map([['crm', ['crm.accounts.read', 'crm.accounts.write']], ['tickets', ['tickets.read']]]),
  maxTtlSeconds: 600,
  actorToken: { allowed: false, subjects: [] },
  devOnly: false,
  source: 'bench',
};
const agents: AgentRegistry = { agents: new Map([[agent.clientId, agent]]) };

const { server, port } = await listen(undefined, '127.0.0.1', 0);
const issuer = `http://127.0.0.1:${port}`;
const state = cfg.state?.kind === 'redis' ? await RedisState.connect({ url: cfg.state.url, prefix: cfg.state.prefix }) : undefined;
// Rate limits and the kill switch are on, as in production, so their counters are paid for on every
// exchange; the limits are set far above what one agent reaches here, so nothing is refused. With
// `deployedDefaults`, the per-source limit and the unauthenticated-denial aggregation are at their defaults.
const NEVER = { limit: 1_000_000_000, windowMs: 60_000 };
const broker = createBroker({
  config: baseConfig(issuer, {
    trustedIssuers: [trustedIssuer(cfg.upstreamIssuer, BENCH_AUDIENCE, { algorithms: ['ES256'] })],
    keysDir: join(dir, 'keys'),
    rateLimits: { perAgent: NEVER, perAgentTool: NEVER, ...(cfg.deployedDefaults ? { perSource: DEFAULT_PER_SOURCE_LIMIT } : {}) },
    attribution: { file: 'unused', ...(cfg.deployedDefaults ? { unauthenticatedIntervalMs: DEFAULT_UNAUTHENTICATED_INTERVAL_MS } : {}) },
    killSwitch: DEFAULT_KILL_SWITCH,
    adminKeys: cfg.adminKeyHash ? [{ id: BENCH_ADMIN_ID, hash: cfg.adminKeyHash }] : [],
    validatorKeys: cfg.validatorKeyHash ? [{ id: BENCH_VALIDATOR_ID, hash: cfg.validatorKeyHash }] : [],
  }),
  ...(state ? { state } : {}),
  ...(cfg.feed ? { feed: cfg.feed } : {}),
  catalog: testCatalog(),
  agents,
  keys,
  sink,
  log: createLogger('silent'),
});
serve(server, broker.callback());
// broker-feed-subscribers: revocations made in the server itself (no admin authentication per event), so
// every subscriber gets events to fan out besides its heartbeats.
if (cfg.feed?.revokeEveryMs) {
  let n = 0;
  setInterval(() => {
    n += 1;
    const nowS = Math.floor(Date.now() / 1000);
    void broker.state.addRevocation({ id: '', kind: 'user', value: `bench-user-${String(n)}`, issuedBefore: nowS, expiresAt: nowS + 3600, reason: 'bench', by: 'bench', at: nowS });
  }, cfg.feed.revokeEveryMs).unref();
}
announce(server, port, async () => {
  loopDelay.disable();
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  gcPauses.sort((a, b) => a - b);
  const gcTotal = gcPauses.reduce((a, b) => a + b, 0);
  process.stderr.write(`event-loop delay p50 ${ms(loopDelay.percentile(50))} ms, p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms | GC pauses ${gcPauses.length}, total ${gcTotal.toFixed(0)} ms, p99 ${(gcPauses[Math.floor(gcPauses.length * 0.99)] ?? 0).toFixed(1)} ms, max ${(gcPauses.at(-1) ?? 0).toFixed(1)} ms (${[...gcByKind].map(([kind, k]) => `${kind} ${k.count}× total ${k.total.toFixed(0)} max ${k.max.toFixed(1)}`).join(', ')}) | heap used ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB\n`);
  await sink.close();
  await state?.close();
  // Requests answered per event-loop turn: responses released together make fewer, fuller turns.
  process.stderr.write(`event-loop turns with requests: ${String(currentTurn())}\n`);
  if (sink instanceof DiscardingMemorySink) process.stderr.write(`in-memory attribution records appended: ${String(sink.appended)}\n`);
  if (sink instanceof ChainedOnlySink) process.stderr.write(`attribution records chained (not written): ${String(sink.chained)}, ${String(sink.bytes)} bytes\n`);
  if (sink instanceof JsonlFileSink) {
    // Evidence that the durable sink really wrote: one line per exchange (probe + warm-up + measured run).
    const lines = (await readFile(jsonlPath, 'utf8').catch(() => '')).split('\n').length - 1;
    const { writes, records } = sink.written;
    process.stderr.write(`durable attribution records written: ${lines} (${String(records)} in ${String(writes)} synchronous writes, ${(records / Math.max(1, writes)).toFixed(1)} per write)\n`);
  }
  await rm(dir, { recursive: true, force: true });
});
