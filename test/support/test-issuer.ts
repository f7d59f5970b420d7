/**
 * A trusted (or deliberately untrusted) issuer for adversarial tests: it serves real discovery and JWKS
 * documents over HTTP and signs whatever claims and headers a test asks for, with its own keys.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';

export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Keys it publishes: ES256 `es-1` and RS256 `rs-1`. */
  readonly publicJwks: { keys: JWK[] };
  readonly es256: CryptoKey;
  readonly rs256: CryptoKey;
  /** Signs with ES256 (`es-1`) by default; header fields may be overridden or added. */
  sign(payload: JWTPayload, opts?: { header?: Partial<JWTHeaderParameters> & Record<string, unknown>; key?: CryptoKey; alg?: string }): Promise<string>;
  /** Replace how /jwks answers (slow, failing, redirecting...). `redirectTo` is where 'redirect' points (default: a closed port). */
  setJwksBehaviour(b: 'ok' | 'fail500' | 'hang' | 'redirect' | 'garbage', opts?: { redirectTo?: string }): void;
  readonly jwksRequests: () => number;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const es = await generateKeyPair('ES256', { extractable: true });
  const rs = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const publicJwks = {
    keys: [
      { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' },
      { ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' },
    ],
  };
  let behaviour: 'ok' | 'fail500' | 'hang' | 'redirect' | 'garbage' = 'ok';
  let jwksHits = 0;
  let redirectTo = 'http://127.0.0.1:1/jwks';
  const hanging = new Set<ServerResponse>();
  let issuer = '';

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration' || req.url === '/.well-known/oauth-authorization-server') {
      json(200, { issuer, jwks_uri: `${issuer}/jwks`, token_endpoint: `${issuer}/token`, response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['ES256'], authorization_endpoint: `${issuer}/auth` });
      return;
    }
    if (req.url === '/jwks') {
      jwksHits += 1;
      if (behaviour === 'ok') json(200, publicJwks);
      else if (behaviour === 'fail500') json(500, { error: 'boom' });
      else if (behaviour === 'redirect') { res.writeHead(302, { location: redirectTo }); res.end(); }
      else if (behaviour === 'garbage') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"keys": not json'); }
      else hanging.add(res);
      return;
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    publicJwks,
    es256: es.privateKey,
    rs256: rs.privateKey,
    async sign(payload, opts = {}) {
      const alg = opts.alg ?? (opts.key === rs.privateKey ? 'RS256' : 'ES256');
      const kid = alg === 'RS256' ? 'rs-1' : 'es-1';
      return new SignJWT(payload)
        .setProtectedHeader({ alg, kid, typ: 'at+jwt', ...opts.header })
        .sign(opts.key ?? (alg === 'RS256' ? rs.privateKey : es.privateKey));
    },
    setJwksBehaviour(b, opts = {}) { behaviour = b; redirectTo = opts.redirectTo ?? 'http://127.0.0.1:1/jwks'; },
    jwksRequests: () => jwksHits,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}
