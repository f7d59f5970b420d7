/** The hash gate: bounded concurrency, a bounded queue and a rate, each refusing at once (issue 14 item 3). */
import { describe, expect, it } from 'vitest';
import { SecretCheckBusyError, SecretCheckGate } from '../../src/auth/secret-check-gate.js';

function deferred(): { promise: Promise<boolean>; resolve: (v: boolean) => void } {
  let resolve: (v: boolean) => void = () => undefined;
  const promise = new Promise<boolean>((r) => { resolve = r; });
  return { promise, resolve };
}

describe('SecretCheckGate', () => {
  it('runs at most `concurrency` checks at a time; the others wait their turn in order', async () => {
    const gate = new SecretCheckGate({ concurrency: 1, maxQueued: 5, ratePerSecond: 1000, burst: 1000 });
    const first = deferred();
    const order: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const job = (n: number, wait?: Promise<boolean>) => gate.run(async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      order.push(n);
      const v = wait ? await wait : true;
      running -= 1;
      return v;
    });
    const all = [job(1, first.promise), job(2), job(3)];
    await new Promise((r) => setImmediate(r));
    expect(gate.load).toEqual({ active: 1, queued: 2 });
    first.resolve(true);
    await Promise.all(all);
    expect(maxRunning).toBe(1);
    expect(order).toEqual([1, 2, 3]);
    expect(gate.load).toEqual({ active: 0, queued: 0 });
  });

  it('by default hashes one secret at a time: three of libuv\'s four pool threads stay free for the attribution log', async () => {
    const gate = new SecretCheckGate();
    let running = 0;
    let maxRunning = 0;
    await Promise.all(Array.from({ length: 8 }, () => gate.run(async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 2));
      running -= 1;
      return true;
    })));
    expect(maxRunning).toBe(1);
  });

  it('refuses at once, without running the check, when the queue is full', async () => {
    const gate = new SecretCheckGate({ concurrency: 1, maxQueued: 1, ratePerSecond: 1000, burst: 1000 });
    const hold = deferred();
    let ran = 0;
    const running = gate.run(() => { ran += 1; return hold.promise; });
    const queued = gate.run(() => { ran += 1; return Promise.resolve(true); });
    await expect(gate.run(() => { ran += 1; return Promise.resolve(true); })).rejects.toBeInstanceOf(SecretCheckBusyError);
    hold.resolve(false);
    await Promise.all([running, queued]);
    expect(ran).toBe(2);
  });

  it('bounds the rate: beyond the burst, checks are refused until tokens refill, with a Retry-After', async () => {
    let now = 1_000_000;
    const gate = new SecretCheckGate({ concurrency: 3, maxQueued: 10, ratePerSecond: 2, burst: 3, now: () => now });
    for (let i = 0; i < 3; i += 1) await gate.run(() => Promise.resolve(true));
    const refusal = await gate.run(() => Promise.resolve(true)).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(SecretCheckBusyError);
    expect((refusal as SecretCheckBusyError).retryAfterSeconds).toBe(1);
    now += 500; // one token at 2/s
    await expect(gate.run(() => Promise.resolve(true))).resolves.toBe(true);
    await expect(gate.run(() => Promise.resolve(true))).rejects.toBeInstanceOf(SecretCheckBusyError);
  });

  it('frees its slot when a check throws', async () => {
    const gate = new SecretCheckGate({ concurrency: 1, maxQueued: 0, ratePerSecond: 1000, burst: 1000 });
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run(() => Promise.resolve(true))).resolves.toBe(true);
  });
});
