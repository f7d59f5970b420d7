/**
 * Issue 14 item 6: the revocation feed's fan-out on one replica, over real HTTP sockets: subscription caps
 * (per key 429, total 503), one poll of the shared state whatever the number of subscribers, and a
 * subscriber that stops reading is dropped once its buffer passes the bound, while readers keep receiving.
 */
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedHub, type FeedHubOptions } from '../../src/revocation/feed/feed-hub.js';
import { MemoryState } from '../../src/state/memory-state.js';
import type { FeedPage, Revocation } from '../../src/state/shared-state.js';

class CountingState extends MemoryState {
  reads = 0;
  override feedSince(cursor: string | undefined, limit?: number): Promise<FeedPage> {
    this.reads += 1;
    return super.feedSince(cursor, limit);
  }
}

const rule = (value: string): Revocation => ({ id: `tool:${value}`, kind: 'tool', value, issuedBefore: 1, expiresAt: 4_000_000_000, reason: 'r', by: 'oncall', at: 1 });

let server: Server | undefined;
let hub: FeedHub | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  hub?.close();
  await new Promise<void>((r) => { if (server) server.close(() => { r(); }); else r(); });
  server = undefined;
});

async function start(state: MemoryState, opts: Partial<FeedHubOptions> = {}): Promise<{ url: string; statuses: number[] }> {
  const h = new FeedHub({ state, now: Date.now, pollMs: 20, heartbeatMs: 200, ...opts });
  hub = h;
  const statuses: number[] = [];
  server = createServer((req, res) => {
    const result = h.subscribe(req.headers['x-key'] as string, res);
    if (!result.ok) {
      statuses.push(result.status);
      res.writeHead(result.status).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => { r(); }));
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, statuses };
}

/** A subscriber that reads and collects what it gets. */
function reader(url: string, key: string): { text: () => string; controller: AbortController; status: Promise<number> } {
  const controller = new AbortController();
  let text = '';
  const status = fetch(url, { headers: { 'x-key': key }, signal: controller.signal }).then((res) => {
    const body = res.body;
    if (body) {
      void (async () => {
        const decoder = new TextDecoder();
        try {
          for await (const chunk of body) text += decoder.decode(chunk as Uint8Array);
        } catch {
          // aborted
        }
      })();
    }
    return res.status;
  });
  return { text: () => text, controller, status };
}

/** A subscriber that sends its request and never reads a byte. */
function stalled(url: string, key: string): Socket {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1', () => { socket.write(`GET / HTTP/1.1\r\nHost: x\r\nx-key: ${key}\r\n\r\n`); });
  socket.pause();
  sockets.push(socket);
  return socket;
}

describe('revocation feed hub', () => {
  it('caps subscriptions per validator key (429) and in total (503)', async () => {
    const { url, statuses } = await start(new MemoryState(), { maxPerKey: 2, maxSubscribers: 3 });
    const subs = [reader(url, 'a'), reader(url, 'a')];
    expect(await Promise.all(subs.map((s) => s.status))).toEqual([200, 200]);
    expect(await reader(url, 'a').status).toBe(429);
    expect(await reader(url, 'b').status).toBe(200);
    expect(await reader(url, 'c').status).toBe(503);
    expect(statuses).toEqual([429, 503]);
    expect(hub?.size).toBe(3);
    for (const s of subs) s.controller.abort();
    await expect.poll(() => hub?.size).toBe(1);
  });

  it('polls the shared state once per interval for all subscribers, and fans every event out to each', async () => {
    const state = new CountingState();
    const { url } = await start(state, { maxPerKey: 100 });
    const subs = Array.from({ length: 50 }, () => reader(url, 'k'));
    await Promise.all(subs.map((s) => s.status));
    await expect.poll(() => subs.every((s) => s.text().includes('event: snapshot_end')), { timeout: 5000 }).toBe(true);
    const before = state.reads;
    const t0 = Date.now();
    await state.addRevocation(rule('crm'));
    await expect.poll(() => subs.every((s) => s.text().includes('"value":"crm"')), { timeout: 5000 }).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const elapsed = Date.now() - t0;
    // One read per 20 ms poll (a few more for paging at most), not one per subscriber per poll.
    expect(state.reads - before).toBeLessThanOrEqual(Math.ceil(elapsed / 20) + 5);
    for (const s of subs) s.controller.abort();
  });

  it('drops a subscriber that stops reading once its buffer passes the bound; readers keep receiving', async () => {
    const state = new MemoryState();
    const { url } = await start(state, { maxBufferBytes: 1024 * 1024, dropAfterMs: 60_000 });
    const good = reader(url, 'good');
    expect(await good.status).toBe(200);
    stalled(url, 'slow');
    await expect.poll(() => hub?.size).toBe(2);
    // Far more than the kernel's socket buffers hold: the stalled subscriber's buffer must grow, then go.
    const big = 'x'.repeat(150);
    for (let i = 0; i < 60_000; i += 1) {
      await state.addRevocation(rule(`${big}-${String(i)}`));
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 20));
    }
    await expect.poll(() => hub?.size, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => good.text().includes(`-59999"`), { timeout: 10_000 }).toBe(true);
    // Its connection is gone on the server side (the memory it held is released).
    const connections = () => new Promise<number>((r) => { server?.getConnections((_e, n) => { r(n); }); });
    await expect.poll(connections, { timeout: 5000 }).toBe(1);
    good.controller.abort();
  }, 30_000);

  it('drops a subscriber whose buffer stays full beyond the time bound', async () => {
    const state = new MemoryState();
    const { url } = await start(state, { maxBufferBytes: 64 * 1024 * 1024, dropAfterMs: 300 });
    stalled(url, 'slow');
    await expect.poll(() => hub?.size).toBe(1);
    const big = 'y'.repeat(500);
    for (let i = 0; i < 30_000 && (hub?.size ?? 0) > 0; i += 1) {
      await state.addRevocation(rule(`${big}-${String(i)}`));
      if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 30));
    }
    await expect.poll(() => hub?.size, { timeout: 10_000 }).toBe(0);
  }, 30_000);
});
