/**
 * A trusted issuer's discovery document and key set are bounded (bytes read while streaming, number of
 * keys): over a bound the exchange is denied 503 `issuer_unavailable` (as for any unusable JWKS), with no
 * token and one denial record, and the broker stops reading at once. Real HTTP servers serve the bodies.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JWK } from 'jose';
import { expectDenied, expectGranted } from '../support/attack-kit.js';
import { startAttackBed, type AttackBed } from '../support/attack-bed.js';
import { trustedIssuer } from '../support/broker-harness.js';
import { CRM } from '../support/catalog.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

const MAX_BYTES = 64 * 1024;
const MAX_KEYS = 20;
const UPSTREAM_TIMEOUT_MS = 10_000;

let bed: AttackBed;
let signer: TestIssuer;
let hostile: { url: string; close(): Promise<void> };
/** What the endless body had written, and whether the broker hung up on it. */
const endless = { written: 0, closedEarly: false };

function keySet(count: number, real: JWK): { keys: JWK[] } {
  return { keys: [real, ...Array.from({ length: count - 1 }, (_, i) => ({ ...real, kid: `decoy-${i}` }))] };
}

beforeAll(async () => {
  signer = await startTestIssuer();
  const real = signer.publicJwks.keys.find((k) => k.kid === 'es-1')!;
  let url = '';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const json = (body: string, declareLength: boolean) => {
      res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(Buffer.byteLength(body)) } : {}) });
      res.end(body);
    };
    switch (req.url) {
      case '/declared/jwks': // 2 MiB with a Content-Length
        json(JSON.stringify({ ...keySet(1, real), pad: 'a'.repeat(2 * 1024 * 1024) }), true);
        return;
      case '/chunked/jwks': // 2 MiB chunked, no Content-Length
        json(JSON.stringify({ ...keySet(1, real), pad: 'a'.repeat(2 * 1024 * 1024) }), false);
        return;
      case '/endless/jwks': { // chunked, never ending (up to a 256 MiB safety cap), written raw on the socket
        res.socket?.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`);
        endless.written = 0;
        const chunk = Buffer.from(`${(64 * 1024).toString(16)}\r\n${'a'.repeat(64 * 1024)}\r\n`);
        const pump = () => {
          while (res.socket && !res.socket.destroyed && endless.written < 256 * 1024 * 1024) {
            endless.written += 64 * 1024;
            if (!res.socket.write(chunk)) { res.socket.once('drain', pump); return; }
          }
        };
        res.socket?.on('close', () => { endless.closedEarly = endless.written < 256 * 1024 * 1024; });
        res.socket?.write(Buffer.from(`9\r\n{"keys":[\r\n`));
        pump();
        return;
      }
      case '/many/jwks':
        json(JSON.stringify(keySet(MAX_KEYS + 1, real)), true);
        return;
      case '/enough/jwks':
        json(JSON.stringify(keySet(MAX_KEYS, real)), true);
        return;
      case '/bigdisc/.well-known/openid-configuration':
        json(JSON.stringify({ issuer: `${url}/bigdisc`, jwks_uri: `${url}/enough/jwks`, pad: 'a'.repeat(2 * 1024 * 1024) }), false);
        return;
      case '/okdisc/.well-known/openid-configuration':
        json(JSON.stringify({ issuer: `${url}/okdisc`, jwks_uri: `${url}/enough/jwks` }), true);
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  hostile = { url, close: async () => { server.closeAllConnections(); await new Promise<void>((r) => server.close(() => { r(); })); } };

  const at = (name: string, brokerIssuer: string) => trustedIssuer(`https://${name}.idp.test`, brokerIssuer, { algorithms: ['ES256'], jwksUri: `${url}/${name}/jwks` });
  bed = await startAttackBed({
    config: { upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, upstreamMaxBytes: MAX_BYTES, upstreamMaxKeys: MAX_KEYS },
    extraIssuers: (brokerIssuer) => [
      at('declared', brokerIssuer), at('chunked', brokerIssuer), at('endless', brokerIssuer), at('many', brokerIssuer), at('enough', brokerIssuer),
      trustedIssuer(`${url}/bigdisc`, brokerIssuer, { algorithms: ['ES256'] }),
      trustedIssuer(`${url}/okdisc`, brokerIssuer, { algorithms: ['ES256'] }),
    ],
  });
});

afterAll(async () => {
  await bed.close();
  await signer.close();
  await hostile.close();
});

async function presentFrom(iss: string) {
  const token = await signer.sign(bed.claims({ iss }));
  return bed.client.exchange(bed.support, { subject_token: token, resource: CRM, scope: 'crm.accounts.read' });
}

const UNAVAILABLE = { status: 503, error: 'temporarily_unavailable', reason: 'issuer_unavailable' } as const;

describe('a trusted issuer\'s key set is bounded', () => {
  it('a JWKS whose Content-Length is over the bound -> 503 issuer_unavailable', async () => {
    expectDenied(await presentFrom('https://declared.idp.test'), UNAVAILABLE);
  });

  it('a chunked JWKS (no Content-Length) over the bound -> 503 issuer_unavailable', async () => {
    expectDenied(await presentFrom('https://chunked.idp.test'), UNAVAILABLE);
  });

  it('an endless JWKS stream is cut off at the bound: refused at once, not at the timeout', async () => {
    const res = await presentFrom('https://endless.idp.test');
    expectDenied(res, UNAVAILABLE);
    expect(res.elapsedMs).toBeLessThan(UPSTREAM_TIMEOUT_MS / 2);
    await expect.poll(() => endless.closedEarly, { timeout: 2000 }).toBe(true);
    // What the server managed to push is socket buffers, not what the broker kept: far below the cap.
    expect(endless.written).toBeLessThan(32 * 1024 * 1024);
  });

  it(`a JWKS with more than ${MAX_KEYS} keys -> 503 issuer_unavailable`, async () => {
    expectDenied(await presentFrom('https://many.idp.test'), UNAVAILABLE);
  });

  it(`a JWKS with exactly ${MAX_KEYS} keys is used (control)`, async () => {
    expectGranted(await presentFrom('https://enough.idp.test'));
  });

  it('a discovery document over the bound -> 503 issuer_unavailable', async () => {
    expectDenied(await presentFrom(`${hostile.url}/bigdisc`), UNAVAILABLE);
  });

  it('a discovery document within the bound is used (control)', async () => {
    expectGranted(await presentFrom(`${hostile.url}/okdisc`));
  });
});
