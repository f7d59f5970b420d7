/**
 * The fast refusal (issue 14 item 3): once the per-source limit refuses an address from memory, its requests
 * are answered in front of the Koa app with exactly the envelope's `source_rate_limited` answer, and counted
 * in the same aggregate tally. Two real brokers, one with the fast path and one without, answer the same
 * requests; a first middleware counts which requests reach the app at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AggregateDenialRecord } from '../../src/attribution/record.js';
import { reserveBroker, type RunningTestBroker } from '../support/broker-harness.js';
import { testCatalog } from '../support/catalog.js';
import { headerPairs, rawHttp, type RawAnswer } from '../support/raw-http.js';

const LIMIT = 5;
/** A fixed clock: the refusal from memory (1 s) never lapses mid-test, whatever the machine's speed. */
const T0 = Date.now();

type Answer = RawAnswer;
interface Started { broker: RunningTestBroker; reachedApp: () => number }

async function start(fastRefusal: boolean): Promise<Started> {
  const reserved = await reserveBroker();
  let reached = 0;
  const broker = await reserved.start({
    trustedIssuers: [], catalog: testCatalog(), agents: [], now: () => T0, fastRefusal,
    config: {
      rateLimits: { perSource: { limit: LIMIT, windowMs: 60_000 } },
      attribution: { file: 'unused', unauthenticatedIntervalMs: 100 },
    },
    beforeServe: (app) => { app.middleware.unshift(async (_ctx, next) => { reached += 1; await next(); }); },
  });
  return { broker, reachedApp: () => reached };
}

function post(broker: RunningTestBroker, headers: Record<string, string> = {}, path = '/token'): Promise<Answer> {
  const body = 'grant_type=client_credentials&client_id=nobody&client_secret=wrong';
  return rawHttp(broker.tokenEndpoint, { body, path, localAddress: '127.0.0.2', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
}

let fast: Started;
let slow: Started;
beforeAll(async () => { [fast, slow] = await Promise.all([start(true), start(false)]); });
afterAll(async () => { await Promise.all([fast.broker.close(), slow.broker.close()]); });

describe('fast refusal of a source refused from memory', () => {
  it('answers exactly as the envelope does, without running the Koa app, and counts every request in the aggregate', async () => {
    const answers = { fast: [] as Answer[], slow: [] as Answer[] };
    for (let i = 0; i < LIMIT + 6; i += 1) {
      for (const [name, b] of [['fast', fast], ['slow', slow]] as const) answers[name].push(await post(b.broker, { 'x-request-id': `req-${String(i)}` }));
    }
    // The first LIMIT reach client authentication; the next is refused by the envelope (it sets the refusal);
    // from then on the address is refused from memory.
    expect(answers.fast.slice(0, LIMIT).map((a) => a.status)).toEqual(Array(LIMIT).fill(401));
    for (let i = LIMIT; i < LIMIT + 6; i += 1) {
      const f = answers.fast[i];
      const s = answers.slow[i];
      expect(f?.status).toBe(429);
      expect(f?.status).toBe(s?.status);
      expect(f?.body).toBe(s?.body);
      expect(f && headerPairs(f)).toEqual(s && headerPairs(s));
    }
    const refused = answers.fast[LIMIT + 1];
    expect(refused && JSON.parse(refused.body)).toEqual({ error: 'temporarily_unavailable', error_description: 'too many requests from this address; slow down' });
    expect(refused && Object.fromEntries(headerPairs(refused).map(([n, v]) => [n?.toLowerCase(), v]))).toMatchObject({
      'retry-after': '1', 'cache-control': 'no-store', pragma: 'no-cache', 'x-request-id': `req-${String(LIMIT + 1)}`,
      'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'content-type': 'application/json; charset=utf-8',
    });
    // The app ran for the first LIMIT + 1 only on the fast broker, for every request on the other.
    expect(fast.reachedApp()).toBe(LIMIT + 1);
    expect(slow.reachedApp()).toBe(LIMIT + 6);

    // A request id that is not a safe token is replaced by a fresh UUID, as on the envelope path.
    const [badFast, badSlow] = [await post(fast.broker, { 'x-request-id': 'bad id\u00e9' }), await post(slow.broker, { 'x-request-id': 'bad id\u00e9' })];
    const idOf = (a: Answer) => headerPairs(a).find(([n]) => n === 'X-Request-Id')?.[1];
    expect(idOf(badFast)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/u);
    expect(headerPairs(badFast).filter(([n]) => n !== 'X-Request-Id')).toEqual(headerPairs(badSlow).filter(([n]) => n !== 'X-Request-Id'));
    expect(fast.reachedApp()).toBe(LIMIT + 1);

    // Another path from the same address is not the token endpoint: it reaches the app.
    await post(fast.broker, {}, '/revoke');
    expect(fast.reachedApp()).toBe(LIMIT + 2);

    // Every token request counted with its reason, on both brokers alike.
    for (const b of [fast, slow]) {
      const aggregates = () => b.broker.sink.records.filter((r): r is AggregateDenialRecord => r.type === 'token_exchange_aggregate');
      const total = (reason: string) => aggregates().reduce((n, r) => n + (r.aggregate.reasons[reason] ?? 0), 0);
      await expect.poll(() => total('source_rate_limited'), { timeout: 5000 }).toBe(7);
      expect(aggregates().reduce((n, r) => n + r.aggregate.count, 0)).toBe(LIMIT + 7);
    }
  });
});
