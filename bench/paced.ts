/**
 * An open-loop load at a fixed rate, for latency below saturation. autocannon's own rate limiting sends
 * each connection's whole per-second budget in a burst at the start of every second, which measures the
 * burst, not the service; this sends requests evenly spaced over at most `connections`
 * keep-alive sockets, and measures each latency from the request's scheduled time (no coordinated omission).
 */
import { Agent, request } from 'node:http';

export interface PacedResult {
  readonly sent: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly elapsedSeconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export async function paced(opts: {
  url: string; headers: Record<string, string>; body: () => string; rate: number; connections: number; seconds: number;
}): Promise<PacedResult> {
  const url = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const latencies: number[] = [];
  let sent = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let inFlight = 0;
  const start = performance.now();
  const end = start + opts.seconds * 1000;

  const send = (scheduledAt: number): void => {
    const body = Buffer.from(opts.body());
    inFlight += 1;
    const req = request({
      agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: { ...opts.headers, 'content-length': String(body.length) },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        inFlight -= 1;
        latencies.push(performance.now() - scheduledAt);
        if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) ok += 1;
        else non2xx += 1;
      });
    });
    req.on('error', () => { inFlight -= 1; errors += 1; });
    req.end(body);
  };

  // A setImmediate loop rather than a 1 ms timer: it keeps the load generator's core busy, so sends are not
  // delayed by timer granularity or by the (virtual) CPU waking up from idle.
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = Math.min(performance.now(), end);
      const due = Math.floor(((now - start) / 1000) * opts.rate);
      while (sent < due) {
        const scheduledAt = start + (sent / opts.rate) * 1000;
        sent += 1;
        send(scheduledAt);
      }
      if (now >= end) resolve();
      else setImmediate(tick);
    };
    tick();
  });
  const drainUntil = performance.now() + 10_000;
  while (inFlight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
  const elapsedSeconds = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return { sent, ok, non2xx, errors: errors + inFlight, elapsedSeconds, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}
