import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/attribution/group-commit.js';

/** A persist step the test controls: records each call, and can be made to fail or to stall. */
function recorder() {
  const batches: { items: number[]; forced: boolean }[] = [];
  let active = 0;
  let maxActive = 0;
  let failNext = 0;
  const failBatch = new Set<number>();
  let gate: Promise<void> | undefined;
  const persist = async (batch: readonly number[], forced: boolean): Promise<void> => {
    active += 1;
    maxActive = Math.max(maxActive, active);
    try {
      batches.push({ items: [...batch], forced });
      await new Promise((r) => setTimeout(r, 2));
      if (gate) await gate;
      if (failNext > 0 || failBatch.has(batches.length)) {
        failNext = Math.max(0, failNext - 1);
        throw new Error(`disk gone (batch ${batches.length})`);
      }
    } finally {
      active -= 1;
    }
  };
  return {
    persist,
    batches,
    maxActive: () => maxActive,
    failNextBatches: (n: number) => { failNext = n; },
    failBatchNumber: (n: number) => { failBatch.add(n); },
    hold: () => {
      let release = (): void => undefined;
      gate = new Promise<void>((r) => { release = r; });
      return () => { gate = undefined; release(); };
    },
  };
}

/** Waits (a turn at a time) until the persist numbered `n` has started. */
async function persisting(r: { batches: readonly unknown[] }, n: number): Promise<void> {
  while (r.batches.length < n) await new Promise((res) => setImmediate(res));
}

const settle = (p: Promise<void>): Promise<string> => p.then(() => 'ok', (e: unknown) => (e instanceof Error ? e.message : String(e)));

describe('GroupCommit', () => {
  it('items submitted in one event-loop turn form one batch, persisted in the check phase of that turn', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.persist);
    const all = [1, 2, 3].map((i) => commit.submit(i));
    expect(r.batches).toEqual([]); // not yet: later submits of this turn may still join
    await new Promise((res) => setImmediate(res));
    expect(r.batches).toEqual([{ items: [1, 2, 3], forced: false }]);
    await Promise.all(all);
  });

  it('persists items in submission order; items submitted during a persist form the next batch', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.persist);
    const first = commit.submit(1);
    await persisting(r, 1);
    const rest = [2, 3, 4].map((i) => commit.submit(i)); // queued while batch [1] is in flight
    await Promise.all([first, ...rest]);
    expect(r.batches).toEqual([{ items: [1], forced: false }, { items: [2, 3, 4], forced: false }]);
  });

  it('a submit resolves only after the persist holding its item has returned', async () => {
    const r = recorder();
    const release = r.hold();
    const commit = new GroupCommit(r.persist);
    let done = false;
    const p = commit.submit(1).then(() => { done = true; });
    await new Promise((res) => setTimeout(res, 20));
    expect(r.batches).toHaveLength(1);
    expect(done).toBe(false);
    release();
    await p;
    expect(done).toBe(true);
  });

  it('a failed persist rejects every waiter of its batch with its error, and only those; the next batch succeeds', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.persist);
    r.failBatchNumber(2);
    const a = settle(commit.submit(1));
    await persisting(r, 1);
    const failing = [2, 3, 4].map((i) => settle(commit.submit(i))); // queued while [1] is in flight
    expect(await a).toBe('ok');
    expect(await Promise.all(failing)).toEqual(['disk gone (batch 2)', 'disk gone (batch 2)', 'disk gone (batch 2)']);
    expect(await settle(commit.submit(5))).toBe('ok');
    expect(r.batches.map((b) => b.items)).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('items queued behind a failing batch are persisted in a later batch, not failed with it', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.persist);
    r.failNextBatches(1);
    const failing = settle(commit.submit(1));
    await persisting(r, 1);
    const behind = [2, 3].map((i) => settle(commit.submit(i))); // queued while [1] is in flight
    expect(await failing).toBe('disk gone (batch 1)');
    expect(await Promise.all(behind)).toEqual(['ok', 'ok']);
    expect(r.batches.map((b) => b.items)).toEqual([[1], [2, 3]]);
  });

  it('keeps failing while the store is down and recovers without a restart', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.persist);
    r.failNextBatches(3);
    expect(await settle(commit.submit(1))).toBe('disk gone (batch 1)');
    expect(await settle(commit.submit(2))).toBe('disk gone (batch 2)');
    expect(await settle(commit.submit(3))).toBe('disk gone (batch 3)');
    expect(await settle(commit.submit(4))).toBe('ok');
  });

  it('never runs two persists at once under concurrent submitters, and every item is persisted exactly once', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.persist);
    const workers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < 25; i++) {
        await commit.submit(w * 100 + i);
        if (i % 3 === 0) await new Promise((res) => setTimeout(res, 1));
      }
    });
    await Promise.all(workers);
    expect(r.maxActive()).toBe(1);
    const all = r.batches.flatMap((b) => b.items);
    expect(all).toHaveLength(200);
    expect(new Set(all).size).toBe(200);
    expect(r.batches.length).toBeLessThan(200); // batching happened
    // Each worker's items appear in its own order.
    for (let w = 0; w < 8; w++) {
      const mine = all.filter((x) => Math.floor(x / 100) === w);
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
    }
  });

  it('with a batching window, items submitted within the window share one persist', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.persist, { windowMs: 30 });
    const first = commit.submit(1);
    await new Promise((res) => setTimeout(res, 10));
    const second = commit.submit(2);
    await Promise.all([first, second]);
    expect(r.batches.map((b) => b.items)).toEqual([[1, 2]]);

    const plain = recorder();
    const noWindow = new GroupCommit(plain.persist);
    const a = noWindow.submit(1);
    await new Promise((res) => setTimeout(res, 10));
    await Promise.all([a, noWindow.submit(2)]);
    expect(plain.batches.map((b) => b.items)).toEqual([[1], [2]]);
  });

  it('maxBatch splits a long queue into several persists, in order', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.persist, { maxBatch: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((i) => commit.submit(i)));
    expect(r.batches.map((b) => b.items)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('force() runs a persist with forced = true even with nothing queued; idle() waits for it', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.persist);
    commit.force();
    await commit.idle();
    expect(r.batches).toEqual([{ items: [], forced: true }]);
    await commit.idle(); // nothing in flight: returns at once
    expect(r.batches).toHaveLength(1);
  });

  it('rejects nonsensical options', () => {
    const r = recorder();
    expect(() => new GroupCommit(r.persist, { windowMs: -1 })).toThrow('group commit windowMs must be a finite number >= 0, got -1');
    expect(() => new GroupCommit(r.persist, { maxBatch: 0 })).toThrow('group commit maxBatch must be at least 1, got 0');
  });
});
