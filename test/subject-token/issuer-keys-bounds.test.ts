/** IssuerKeys with its default bounds, against a real HTTP server: an oversized key set is refused and logged. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IssuerKeys, IssuerUnavailableError } from '../../src/subject-token/issuer-keys.js';
import { DEFAULT_FETCH_BOUNDS, readAtMost } from '../../src/subject-token/bounded-fetch.js';
import type { TrustedIssuer } from '../../src/domain/broker-config.js';

const KEY = { kty: 'EC', crv: 'P-256', x: 'MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4', y: '4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM', alg: 'ES256' };
let url = '';
let close: () => Promise<void>;

beforeAll(async () => {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const send = (body: unknown) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (req.url === '/big') send({ keys: [{ ...KEY, kid: 'a' }], pad: 'x'.repeat(DEFAULT_FETCH_BOUNDS.maxBytes) });
    else if (req.url === '/many') send({ keys: Array.from({ length: DEFAULT_FETCH_BOUNDS.maxKeys + 1 }, (_, i) => ({ ...KEY, kid: `k${i}` })) });
    else if (req.url === '/fine') send({ keys: Array.from({ length: DEFAULT_FETCH_BOUNDS.maxKeys }, (_, i) => ({ ...KEY, kid: `k${i}` })) });
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => { server.closeAllConnections(); await new Promise<void>((r) => server.close(() => { r(); })); };
});
afterAll(async () => { await close(); });

function issuerAt(path: string): TrustedIssuer {
  return { issuer: 'https://idp.test', jwksUri: `${url}${path}`, audiences: ['b'], algorithms: ['ES256'], scopeClaim: 'scope', tokenTypes: ['at+jwt'], issuesActorTokens: false };
}

async function lookUp(path: string): Promise<{ error: unknown; lines: { obj: object; msg: string }[] }> {
  const lines: { obj: object; msg: string }[] = [];
  const keys = new IssuerKeys(issuerAt(path), { timeoutMs: 2000, log: { warn: (obj, msg) => { lines.push({ obj, msg }); } } });
  const resolver = await keys.resolver();
  const error = await resolver({ alg: 'ES256', kid: 'k0' }).then(() => undefined, (e: unknown) => e);
  return { error, lines };
}

describe('IssuerKeys bounds (defaults: 256 KiB, 100 keys)', () => {
  it('a key set over 256 KiB is refused as unavailable, with one log line naming the issuer and the bound', async () => {
    const { error, lines } = await lookUp('/big');
    expect(error).toBeInstanceOf(IssuerUnavailableError);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.obj).toMatchObject({ issuer: 'https://idp.test', kind: 'jwks', problem: 'too_large', limit: 256 * 1024 });
    expect(lines[0]!.msg).toMatch(/issuer_unavailable/u);
  });

  it('a key set with 101 keys is refused, with a log line', async () => {
    const { error, lines } = await lookUp('/many');
    expect(error).toBeInstanceOf(IssuerUnavailableError);
    expect(lines.map((l) => l.obj)).toEqual([expect.objectContaining({ problem: 'too_many_keys', limit: 100, observed: 101 })]);
  });

  it('100 keys are accepted', async () => {
    const { error, lines } = await lookUp('/fine');
    expect(error).toBeUndefined();
    expect(lines).toHaveLength(0);
  });
});

describe('readAtMost', () => {
  const stream = (chunks: number[]) => new Response(new ReadableStream<Uint8Array>({
    start(controller) { for (const n of chunks) controller.enqueue(new Uint8Array(n)); controller.close(); },
  }));

  it('returns the body when it fits, and stops at the first chunk past the bound otherwise', async () => {
    expect(await readAtMost(stream([10, 10]), 20)).toEqual({ bytes: new Uint8Array(20) });
    expect(await readAtMost(stream([10, 10, 10, 10]), 15)).toEqual({ over: 20 });
  });

  it('refuses a declared Content-Length over the bound without reading', async () => {
    const res = new Response('x'.repeat(100), { headers: { 'content-length': '100' } });
    expect(await readAtMost(res, 50)).toEqual({ over: 100 });
  });
});
