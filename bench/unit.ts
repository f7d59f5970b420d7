/**
 * The in-process "exchange unit": jose ES256 jwtVerify of a user token + SignJWT of a new token, in a loop
 * for a bounded time (after a warm-up), on one core. Prints a UnitResult as one JSON line on stdout.
 */
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { readConfig, type UnitConfig, type UnitResult } from './protocol.js';

const cfg = readConfig() as UnitConfig;
const upstream = await generateKeyPair('ES256');
const broker = await generateKeyPair('ES256');
const now = Math.floor(Date.now() / 1000);
const userToken = await new SignJWT({ scope: 'crm.read crm.write', jti: crypto.randomUUID() })
  .setProtectedHeader({ alg: 'ES256', kid: 'es-1', typ: 'at+jwt' })
  .setIssuer('https://idp.bench.test').setSubject('alice').setAudience('https://broker.bench.test')
  .setIssuedAt(now).setExpirationTime(now + 3600)
  .sign(upstream.privateKey);

async function once(): Promise<void> {
  const { payload } = await jwtVerify(userToken, upstream.publicKey, {
    issuer: 'https://idp.bench.test', audience: 'https://broker.bench.test', typ: 'at+jwt', algorithms: ['ES256'], requiredClaims: ['exp', 'sub'],
  });
  const t = Math.floor(Date.now() / 1000);
  await new SignJWT({ scope: 'crm.accounts.read', client_id: 'bench-agent', act: { sub: 'bench-agent' }, tool: 'crm', jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: 'broker-1', typ: 'at+jwt' })
    .setIssuer('https://broker.bench.test').setSubject(payload.sub ?? '').setAudience('https://crm.example.test/api')
    .setIssuedAt(t).setExpirationTime(t + 300)
    .sign(broker.privateKey);
}

async function loop(seconds: number): Promise<{ ops: number; elapsed: number }> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let ops = 0;
  while (performance.now() < end) {
    await once();
    ops += 1;
  }
  return { ops, elapsed: (performance.now() - start) / 1000 };
}

await loop(cfg.warmupSeconds);
const { ops, elapsed } = await loop(cfg.durationSeconds);
const result: UnitResult = { opsPerSec: ops / elapsed, ops, durationSeconds: elapsed };
process.stdout.write(`${JSON.stringify(result)}\n`);
