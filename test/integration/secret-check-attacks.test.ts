/**
 * Issue 14 item 3, agent secrets: a flood of wrong secrets cannot stall the broker or tell ids apart.
 * Failed checks are throttled per address and per client id (429 + Retry-After, no hashing), the hash gate
 * refuses at once when full (503 + Retry-After), unknown ids cost a hash like known ones, a verified secret
 * is never throttled, and the thread pool keeps free threads (the attribution log's writes never queue
 * behind password hashing).
 */
import { open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/domain/broker-config.js';
import { expectDenied, expectGranted } from '../support/attack-kit.js';
import { secretAgent, startAttackBed, SUPPORT_SECRET, type AttackBed } from '../support/attack-bed.js';
import { CRM } from '../support/catalog.js';

const OTHER_SECRET = 'other-agent-secret-for-throttle-tests';
let bed: AttackBed | undefined;
afterEach(async () => { await bed?.close(); bed = undefined; });

async function start(secretChecks: NonNullable<BrokerConfig['secretChecks']>): Promise<AttackBed> {
  const other = await secretAgent('other-agent', OTHER_SECRET, { crm: ['crm.accounts.read'] });
  bed = await startAttackBed({ agents: [other], config: { secretChecks } });
  return bed;
}

async function attempt(b: AttackBed, clientId: string, secret: string, concurrent = false) {
  return b.client.exchange({ kind: 'basic', clientId, secret }, { subject_token: await b.idp.userToken('alice'), resource: CRM, scope: 'crm.accounts.read' }, { concurrent });
}

const FAILED = { status: 401, error: 'invalid_client', reason: 'client_authentication_failed' } as const;
const THROTTLED = { status: 429, error: 'temporarily_unavailable', reason: 'client_authentication_throttled' } as const;

describe('failed agent secrets are throttled', () => {
  it('per source address: after the limit, 429 with Retry-After before any hashing; a verified secret still works', async () => {
    const b = await start({ perAddress: { limit: 3, windowMs: 60_000 }, perClient: { limit: 100, windowMs: 60_000 } });
    expectGranted(await attempt(b, 'support-agent', SUPPORT_SECRET)); // verified before the flood
    for (let i = 0; i < 3; i += 1) expectDenied(await attempt(b, 'support-agent', `wrong-secret-number-${i}-xxxxxxxx`), FAILED);
    const throttled = await attempt(b, 'support-agent', 'wrong-secret-number-4-xxxxxxxx');
    const record = expectDenied(throttled, THROTTLED);
    expect(record.agent.authenticated).toBe(false);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(throttled.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // Even a right secret that was never verified here waits: the address is throttled before hashing.
    expectDenied(await attempt(b, 'other-agent', OTHER_SECRET), THROTTLED);
    // The agent whose secret is already verified is not locked out by the flood from its own address.
    expectGranted(await attempt(b, 'support-agent', SUPPORT_SECRET));
  });

  it('per client id: a flood against one agent throttles that id, not the others', async () => {
    const b = await start({ perAddress: { limit: 100, windowMs: 60_000 }, perClient: { limit: 2, windowMs: 60_000 } });
    for (let i = 0; i < 2; i += 1) expectDenied(await attempt(b, 'support-agent', `wrong-secret-number-${i}-xxxxxxxx`), FAILED);
    expectDenied(await attempt(b, 'support-agent', 'wrong-secret-number-3-xxxxxxxx'), THROTTLED);
    expectDenied(await attempt(b, 'other-agent', 'wrong-secret-number-3-xxxxxxxx'), FAILED);
    expectGranted(await attempt(b, 'other-agent', OTHER_SECRET));
  });

  it('unknown ids cost what known ones do: they are hashed against a dummy and counted by the same throttle', async () => {
    const b = await start({ perAddress: { limit: 3, windowMs: 60_000 }, perClient: { limit: 100, windowMs: 60_000 } });
    expectDenied(await attempt(b, 'no-such-agent', 'whatever-secret-value-0000'), { status: 401, error: 'invalid_client', reason: 'agent_unknown' });
    expectDenied(await attempt(b, 'another-unknown', 'whatever-secret-value-0000'), { status: 401, error: 'invalid_client', reason: 'agent_unknown' });
    // A secret for an agent that authenticates with private_key_jwt costs a hash too.
    expectDenied(await attempt(b, 'key-agent', 'whatever-secret-value-0000'), { status: 401, error: 'invalid_client', reason: 'client_authentication_failed' });
    expectDenied(await attempt(b, 'yet-another-unknown', 'whatever-secret-value-0000'), THROTTLED);
  });

  it('unknown and known ids take the same time (one gated scrypt each)', async () => {
    const b = await start({ perAddress: { limit: 1000, windowMs: 60_000 }, perClient: { limit: 1000, windowMs: 60_000 } });
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 9; i += 1) {
      known.push((await attempt(b, 'support-agent', `wrong-secret-number-${i}-xxxxxxxx`)).elapsedMs);
      unknown.push((await attempt(b, `unknown-agent-${i}`, `wrong-secret-number-${i}-xxxxxxxx`)).elapsedMs);
    }
    // Without the dummy hash an unknown id answers a scrypt (~30 ms here) faster than a known one.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.6);
  });
});

describe('the hash gate', () => {
  it('refuses at once with 503 and Retry-After when full, and records it', async () => {
    const b = await start({ concurrency: 1, maxQueued: 0, ratePerSecond: 1000, burst: 1000 });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(b, 'support-agent', `wrong-secret-number-${i}-xxxxxxxx`, true)));
    const busy = results.filter((r) => r.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) {
      expectDenied(r, { status: 503, error: 'temporarily_unavailable', reason: 'client_authentication_busy' });
      expect(r.headers.get('retry-after')).toBe('1');
    }
    for (const r of results.filter((x) => x.status !== 503)) expectDenied(r, FAILED);
  });

  it('leaves libuv pool threads free: a synced write completes while a flood of wrong secrets is being hashed', async () => {
    const b = await start({ concurrency: 1, maxQueued: 64, ratePerSecond: 1000, burst: 1000, perAddress: { limit: 1000, windowMs: 60_000 }, perClient: { limit: 1000, windowMs: 60_000 } });
    const file = join(tmpdir(), `pool-probe-${process.pid}-${Date.now()}`);
    const handle = await open(file, 'w');
    try {
      const subjectToken = await b.idp.userToken('alice');
      const flood = Promise.all(Array.from({ length: 32 }, (_, i) => b.client.exchange(
        { kind: 'basic', clientId: 'support-agent', secret: `wrong-secret-number-${i}-xxxxxxxx` },
        { subject_token: subjectToken, resource: CRM, scope: 'crm.accounts.read' }, { concurrent: true },
      )));
      await new Promise((r) => setTimeout(r, 100)); // the flood is being hashed now
      const probes: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        const started = performance.now();
        await handle.write(`probe ${i}\n`);
        await handle.datasync();
        probes.push(performance.now() - started);
      }
      await flood;
      // Ungated, 32 scrypts (~30 ms each) fill all four pool threads and a probe waits behind them (≥ 100 ms).
      expect(Math.max(...probes), probes.join(' ')).toBeLessThan(60);
    } finally {
      await handle.close();
      await unlink(file);
    }
  });
});
