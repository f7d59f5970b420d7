/**
 * Validator throughput on one core: the validation SDK (`TokenValidator.validate`, following the broker's
 * revocation feed, so every call includes the revocation check) against bare `jose.jwtVerify` of the same
 * tokens with the same public keys, measured alternately in this one process (validator, jose, validator,
 * jose: the better of each pair is kept, which cancels a noisy neighbour better than one long run).
 * Prints a ValidatorBenchResult as one JSON line on stdout.
 */
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { TokenValidator } from '../src/sdk/validator/token-validator.js';
import { TokenValidationError } from '../src/sdk/validator/errors.js';
import { readConfig, type ValidatorBenchConfig, type ValidatorBenchResult } from './protocol.js';

const cfg = readConfig() as ValidatorBenchConfig;
const [revoked, ...tokens] = (await readFile(cfg.tokensFile, 'utf8')).split('\n').filter((l) => l.length > 0);
if (revoked === undefined || tokens.length === 0) throw new Error('no tokens to validate');

const validator = await TokenValidator.create({ issuer: cfg.brokerIssuer, resource: cfg.resource, revocation: { key: cfg.validatorKey, ...(cfg.snapshotTimeoutMs ? { snapshotTimeoutMs: cfg.snapshotTimeoutMs } : {}) } });
const jwks = await (await fetch(`${cfg.brokerIssuer}/jwks`)).json() as JSONWebKeySet;
const localKeys = createLocalJWKSet(jwks);

// The revocation reached the validator through the feed: the revoked token must be refused, as revoked.
let revokedRefused = false;
for (let attempt = 0; attempt < 50 && !revokedRefused; attempt += 1) {
  try {
    await validator.validate(`Bearer ${revoked}`);
    await new Promise((r) => setTimeout(r, 100));
  } catch (err) {
    revokedRefused = err instanceof TokenValidationError && /revoked/u.test(err.description);
    if (!revokedRefused) throw err;
  }
}

async function viaValidator(token: string): Promise<void> {
  await validator.validate(`Bearer ${token}`);
}
async function viaJose(token: string): Promise<void> {
  await jwtVerify(token, localKeys, { issuer: cfg.brokerIssuer, audience: cfg.resource, typ: 'at+jwt', algorithms: ['ES256'] });
}

async function loop(fn: (token: string) => Promise<void>, seconds: number): Promise<number> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let ops = 0;
  while (performance.now() < end) {
    await fn(tokens[ops % tokens.length] as string);
    ops += 1;
  }
  return ops / ((performance.now() - start) / 1000);
}

await loop(viaValidator, cfg.warmupSeconds);
await loop(viaJose, cfg.warmupSeconds);
const half = cfg.durationSeconds / 2;
const v1 = await loop(viaValidator, half);
const j1 = await loop(viaJose, half);
const v2 = await loop(viaValidator, half);
const j2 = await loop(viaJose, half);
validator.close();
const result: ValidatorBenchResult = { validatorPerSec: Math.max(v1, v2), josePerSec: Math.max(j1, j2), tokens: tokens.length, revokedRefused };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
