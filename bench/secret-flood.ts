/**
 * The flood of the `broker-secret-flood` scenario (issue 14 item 3), in its own pinned process: `connections`
 * connections sending token requests with a wrong client secret as fast as the broker answers, for `seconds`.
 * Prints one JSON line: how many were sent and how they were answered (401 until the throttle blocks the
 * address, then 429; 503 when the hash gate is full).
 */
import autocannon from 'autocannon';
import { readConfig } from './protocol.js';

export interface SecretFloodConfig {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly clientId: string;
  readonly body: string;
}

export interface SecretFloodResult {
  readonly total: number;
  readonly reqPerSec: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly errors: number;
}

const cfg = readConfig() as SecretFloodConfig;
const byStatus: Record<string, number> = {};
let n = 0;
let finish: (r: autocannon.Result) => void = () => undefined;
let fail: (err: unknown) => void = () => undefined;
const done = new Promise<autocannon.Result>((resolve, reject) => { finish = resolve; fail = reject; });
const instance = autocannon({
  url: cfg.url,
  connections: cfg.connections,
  duration: cfg.seconds,
  requests: [{
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: cfg.body,
    // A different wrong secret on every request: nothing can be answered from a cache of failures.
    setupRequest: (req: autocannon.Request) => {
      n += 1;
      return { ...req, headers: { ...req.headers, authorization: `Basic ${Buffer.from(`${cfg.clientId}:wrong-secret-${String(n)}-${'x'.repeat(24)}`).toString('base64')}` } };
    },
  }],
}, (err: unknown, result: autocannon.Result) => { if (err) fail(err); else finish(result); });
instance.on('response', (_client, statusCode) => { byStatus[String(statusCode)] = (byStatus[String(statusCode)] ?? 0) + 1; });
const r = await done;
const result: SecretFloodResult = { total: r.requests.total, reqPerSec: r.requests.total / r.duration, byStatus, errors: r.errors };
process.stdout.write(`${JSON.stringify(result)}\n`);
