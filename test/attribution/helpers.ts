import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK } from 'jose';
import type { ExchangeRecord } from '../../src/attribution/record.js';
import type { SigningKey } from '../../src/keys/signing-keys.js';
import { createCompactSigner } from '../../src/minting/compact-signer.js';

export async function testSigner(kid?: string): Promise<SigningKey & { publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = await exportJWK(publicKey);
  const id = kid ?? (await calculateJwkThumbprint(publicJwk));
  return {
    kid: id,
    alg: 'ES256',
    privateKey,
    privateJwk: { ...privateJwk, kid: id, alg: 'ES256' },
    createdAt: 0,
    accessTokenSigner: createCompactSigner({ ...privateJwk, kid: id }, 'at+jwt'),
    publicJwk: { ...publicJwk, kid: id, alg: 'ES256', use: 'sig' },
  };
}

const AGENTS = ['support-bot', 'billing-agent', 'research-agent', 'ops-agent', 'sales-agent'];
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'];
const TOOLS = ['crm', 'billing', 'calendar', 'docs'];
export const BASE_TIME = Date.parse('2026-11-01T00:00:00.000Z');

/** A deterministic, varied exchange record; record i is 7 s after record i-1. */
export function makeRecord(i: number): ExchangeRecord {
  const granted = i % 5 !== 0;
  return {
    v: 1,
    type: 'token_exchange',
    id: `rec-${i}`,
    time: new Date(BASE_TIME + i * 7000).toISOString(),
    request_id: `req-${i}`,
    decision: granted ? 'granted' : 'denied',
    reason: granted ? 'granted' : 'scope_not_allowed',
    ...(granted ? {} : { error: 'invalid_scope' }),
    agent: { client_id: AGENTS[i % AGENTS.length] ?? null, authenticated: true },
    user: { iss: 'https://idp.example', sub: USERS[(i * 3) % USERS.length] ?? 'nobody' },
    actors: [AGENTS[i % AGENTS.length] ?? 'x'],
    tool: { id: TOOLS[(i >> 1) % TOOLS.length] ?? 'crm', resource: `https://${TOOLS[(i >> 1) % TOOLS.length] ?? 'crm'}.example/api` },
    scopes: { requested: ['a.read', 'a.write'], granted: granted ? ['a.read'] : [], dropped: [{ scope: 'a.write', reason: 'not_allowed_for_agent' }] },
    ...(granted ? { token: { jti: `jti-${i}`, exp: 1_800_000_000 + i, lifetime_bound_by: 'tool_max_ttl' } } : {}),
    subject_token_sha256: `sha-${i}`,
    caller: { address: '127.0.0.1' },
  };
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'attribution-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** `value` rebuilt with every object's keys inserted in sorted order (own data properties, even "__proto__"). */
export function deepSorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deepSorted);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const key of Object.keys(value).sort()) {
    Object.defineProperty(out, key, { value: deepSorted((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
