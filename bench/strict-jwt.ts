/**
 * Micro-benchmark of the strict JWT pre-parser (src/jwt/strict-compact.ts) against jose's own decoding, on
 * the tokens it runs on: an upstream user token (every fresh exchange), a broker access token (every
 * validation) and a DPoP proof. Prints ns per token for
 *   strict     parseStrictJwt (base64url + UTF-8 + JSON scan + JSON.parse of header and claims)
 *   jose       decodeProtectedHeader + decodeJwt (what the entry points used to run first)
 *   verify     jose jwtVerify ES256 (the work the pre-parser is added to)
 * Interleaved rounds, the median round shown. Run: `npx tsx bench/strict-jwt.ts [--seconds 1] [--rounds 5]`.
 */
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { parseStrictJwt } from '../src/jwt/strict-compact.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 1);
const ROUNDS = arg('rounds', 5);

const keys = await generateKeyPair('ES256');
const now = Math.floor(Date.now() / 1000);
const sign = (header: Record<string, unknown>, claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'ES256', ...header }).sign(keys.privateKey);

const tokens: Record<string, string> = {
  'user token': await sign({ kid: 'es-1', typ: 'at+jwt' }, {
    iss: 'https://idp.example.com/realms/corp', sub: '248289761001', aud: 'https://broker.example.com', azp: 'web-app',
    scope: 'openid profile crm.read crm.write tickets.read payroll.read', iat: now, exp: now + 3600, auth_time: now,
    jti: crypto.randomUUID(), sid: crypto.randomUUID(), email: 'alice@example.com', name: 'Alice Example', groups: ['support', 'eu'],
  }),
  'broker token': await sign({ kid: 'broker-2026-12', typ: 'at+jwt' }, {
    iss: 'https://broker.example.com', sub: '248289761001', aud: 'https://crm.example.internal/api', client_id: 'support-assistant',
    scope: 'crm.accounts.read crm.accounts.write', act: { sub: 'support-assistant' }, tool: 'crm', iat: now, exp: now + 300, jti: crypto.randomUUID(),
  }),
  'DPoP proof': await sign({ typ: 'dpop+jwt', jwk: await exportJWK(keys.publicKey) }, {
    jti: crypto.randomUUID(), htm: 'POST', htu: 'https://broker.example.com/token', iat: now,
  }),
};

let sink = 0;
function nsPerOp(fn: (t: string) => unknown, token: string): number {
  const end = performance.now() + SECONDS * 1000;
  let ops = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 256; i += 1) if (fn(token)) sink += 1;
    ops += 256;
  }
  return ((performance.now() - start) * 1e6) / ops;
}

async function nsPerVerify(token: string): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let ops = 0;
  const start = performance.now();
  while (performance.now() < end) {
    await jwtVerify(token, keys.publicKey, { clockTolerance: 10 });
    ops += 1;
  }
  return ((performance.now() - start) * 1e6) / ops;
}

const strict = (t: string) => parseStrictJwt(t, { nowMs: Date.now(), clockSkewSeconds: 10 }).ok;
const lenient = (t: string) => decodeProtectedHeader(t).alg !== undefined && decodeJwt(t).iat !== undefined;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

for (const t of Object.values(tokens)) if (!strict(t)) throw new Error('a benchmark token is not strict');
for (const t of Object.values(tokens)) {
  nsPerOp(strict, t);
  nsPerOp(lenient, t);
}

console.log(`strict JWT pre-parser, ${ROUNDS} interleaved rounds of ${SECONDS} s each, median round (ns per token)`);
console.log('token          chars   strict     jose decode  strict/jose  jwtVerify ES256  strict/verify');
for (const [name, token] of Object.entries(tokens)) {
  const s: number[] = [];
  const j: number[] = [];
  const v: number[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    s.push(nsPerOp(strict, token));
    j.push(nsPerOp(lenient, token));
    v.push(await nsPerVerify(token));
  }
  const [ms, mj, mv] = [median(s), median(j), median(v)];
  console.log(`${name.padEnd(14)} ${String(token.length).padStart(5)}  ${ms.toFixed(0).padStart(7)}  ${mj.toFixed(0).padStart(11)}  ${(ms / mj).toFixed(2).padStart(11)}  ${mv.toFixed(0).padStart(15)}  ${((100 * ms) / mv).toFixed(1).padStart(12)} %`);
}
if (sink < 0) console.log(sink);
