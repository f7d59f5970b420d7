/**
 * The flood of the `broker-secret-flood` scenario (issue 14 item 3), in its own pinned process: `connections`
 * keep-alive connections sending token requests with a wrong client secret as fast as the broker answers, for
 * `seconds`. It sends from another loopback address than the legitimate load (`localAddress`, default
 * 127.0.0.2), as an attacker on another machine would: the broker's per-source limit can tell them apart.
 * Prints one JSON line: how many were sent and how they were answered (429 once the per-source limit or the
 * failure throttle refuses the address, 401 before; 503 when the hash gate is full).
 */
import { Agent, request } from 'node:http';
import { readConfig } from './protocol.js';

export interface SecretFloodConfig {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly clientId: string;
  readonly body: string;
  /** The address the flood sends from (default 127.0.0.2; Linux answers all of 127.0.0.0/8 on loopback). */
  readonly localAddress?: string;
}

export interface SecretFloodResult {
  readonly total: number;
  readonly reqPerSec: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly localAddress: string;
}

const cfg = readConfig() as SecretFloodConfig;
const localAddress = cfg.localAddress ?? '127.0.0.2';
const url = new URL(cfg.url);
const agent = new Agent({ keepAlive: true, maxSockets: cfg.connections, localAddress });
const body = Buffer.from(cfg.body);
const byStatus: Record<string, number> = {};
let n = 0;
let errors = 0;
const start = performance.now();
const end = start + cfg.seconds * 1000;

/** One connection's loop: the next request as soon as the previous one is answered. */
function loop(resolve: () => void): void {
  if (performance.now() >= end) { resolve(); return; }
  n += 1;
  // A different wrong secret on every request: nothing can be answered from a cache of failures.
  const secret = `wrong-secret-${String(n)}-${'x'.repeat(24)}`;
  const req = request({
    agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(body.length),
      authorization: `Basic ${Buffer.from(`${cfg.clientId}:${secret}`).toString('base64')}`,
    },
  }, (res) => {
    const status = String(res.statusCode ?? 0);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    res.resume();
    res.on('end', () => { loop(resolve); });
  });
  req.on('error', () => { errors += 1; setTimeout(() => { loop(resolve); }, 10); });
  req.end(body);
}

await Promise.all(Array.from({ length: cfg.connections }, () => new Promise<void>((resolve) => { loop(resolve); })));
agent.destroy();
const elapsed = (performance.now() - start) / 1000;
const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
const result: SecretFloodResult = { total, reqPerSec: total / elapsed, byStatus, errors, localAddress };
process.stdout.write(`${JSON.stringify(result)}\n`);
