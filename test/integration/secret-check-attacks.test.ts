/**
 * Issue 14 item 3, agent secrets: a flood of wrong secrets cannot stall the broker or tell ids apart.
 * Failed checks are throttled per address and per client id (429 + Retry-After, no hashing), the hash gate
 * refuses at once when full (503 + Retry-After), unknown ids cost a hash like known ones, a verified secret
 * is never throttled, and the thread pool keeps free threads (the attribution log's writes never queue
 * behind password hashing).
 */
import { open, unlink } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/domain/broker-config.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
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

/** A token request with a wrong secret sent from another loopback address (the throttle keys on the source). */
function fromAddress(b: AttackBed, localAddress: string, clientId: string, secret: string): Promise<number> {
  const body = 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=x&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token';
  return new Promise((resolve, reject) => {
    const req = request(b.broker.tokenEndpoint, {
      method: 'POST', localAddress,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    }, (res) => { res.resume(); res.on('end', () => { resolve(res.statusCode ?? 0); }); });
    req.on('error', reject);
    req.end(body);
  });
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
    expect(Number(throttled.headers.get('retry-after'))).toBeLessThanOrEqual(120); // at most into the next window
    // Even a right secret that was never verified here waits: the address is throttled before hashing.
    expectDenied(await attempt(b, 'other-agent', OTHER_SECRET), THROTTLED);
    // The agent whose secret is already verified is not locked out by the flood from its own address.
    expectGranted(await attempt(b, 'support-agent', SUPPORT_SECRET));
    // Another source address is not throttled by this one's failures.
    expect(await fromAddress(b, '127.0.0.2', 'other-agent', 'wrong-secret-from-another-address')).toBe(401);
    expect(await fromAddress(b, '127.0.0.1', 'other-agent', 'wrong-secret-from-another-address')).toBe(429);
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
    const b = await start({ maxQueued: 64, ratePerSecond: 1000, burst: 1000, perAddress: { limit: 1000, windowMs: 60_000 }, perClient: { limit: 1000, windowMs: 60_000 } });
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
      // What one scrypt costs on this machine right now (it is shared: absolute times vary with its load).
      const started = performance.now();
      await hashClientSecret('calibration-secret-0000');
      const oneHash = performance.now() - started;
      // Ungated, 32 scrypts fill all four pool threads and a probe waits behind about eight of them (measured
      // before the gate: ~2 s); gated, a probe waits for no hash at all, only for the busy event loop.
      const median = [...probes].sort((x, y) => x - y)[1] ?? 0;
      expect(median, `probes ${probes.map((p) => p.toFixed(0)).join(' ')} ms, one hash ${oneHash.toFixed(0)} ms`).toBeLessThan(3 * oneHash);
    } finally {
      await handle.close();
      await unlink(file);
    }
  });
});
