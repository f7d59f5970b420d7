/**
 * Issue 14 item 7 (least disclosure at introspection): a caller whose ValidatorCaller is scoped to resources
 * introspects only tokens whose `aud` is one of them; for any other token it learns exactly {"active":false}.
 * Real tokens signed with the broker's own keys, real HTTP, the routes as the broker mounts them.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { createValidatorRoutes, type ValidatorRouter } from '../../src/introspection/introspection-routes.js';
import type { ValidatorCaller } from '../../src/introspection/validator-caller.js';
import { createBrokerTokenVerifier } from '../../src/introspection/verify-broker-token.js';
import { loadSigningKeys, type SigningKeys } from '../../src/keys/signing-keys.js';
import { close, listen } from '../../src/server/listen.js';
import { MemoryState } from '../../src/state/memory-state.js';
import { newTokenId } from '../../src/minting/token-id.js';

const ISSUER = 'https://broker.test';
const CRM = 'https://crm.example.test/api';
const TICKETS = 'https://tickets.example.test/api';
const CALLERS: Record<string, ValidatorCaller> = {
  'Bearer crm-only': { id: 'crm-service', kind: 'validator_key', resources: new Set([CRM]) },
  'Bearer everything': { id: 'oncall', kind: 'admin_key' },
};

let keys: SigningKeys;
let routes: ValidatorRouter;
let server: Server;
let url: string;

beforeAll(async () => {
  keys = await loadSigningKeys(await mkdtemp(join(tmpdir(), 'introspect-keys-')), { generateIfMissing: true });
  routes = createValidatorRoutes({
    state: new MemoryState(),
    verify: createBrokerTokenVerifier(ISSUER, keys, 5),
    authenticate: ({ authorization }) => Promise.resolve(authorization === undefined ? undefined : CALLERS[authorization]),
    now: Date.now,
  });
  const app = new Koa();
  app.use(routes.router.routes());
  const listening = await listen(app.callback(), '127.0.0.1', 0);
  server = listening.server;
  url = `http://127.0.0.1:${String(listening.port)}`;
});
afterAll(async () => {
  routes.close();
  await close(server, 0);
});

const token = (aud: string | string[]) => new SignJWT({ client_id: 'agent-a', scope: 'read', act: { sub: 'agent-a' } })
  .setProtectedHeader({ alg: 'ES256', kid: keys.active.kid, typ: 'at+jwt' })
  .setIssuer(ISSUER).setSubject('alice').setAudience(aud).setIssuedAt().setExpirationTime('5m').setJti(newTokenId())
  .sign(keys.active.privateKey);

async function introspect(authorization: string, t: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/introspect`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t }).toString() });
  return { status: res.status, body: await res.json() };
}

describe('introspection discloses only the caller\'s resources', () => {
  it('a caller scoped to CRM sees CRM tokens, and exactly {"active":false} for any other resource\'s', async () => {
    const crm = await token(CRM);
    const tickets = await token(TICKETS);
    expect(await introspect('Bearer crm-only', crm)).toMatchObject({ status: 200, body: { active: true, aud: CRM, sub: 'alice' } });
    expect(await introspect('Bearer crm-only', tickets)).toEqual({ status: 200, body: { active: false } });
    expect(await introspect('Bearer crm-only', await token([TICKETS, CRM]))).toMatchObject({ body: { active: true } });
  });

  it('an unscoped caller sees every resource\'s tokens; an unknown caller gets 401', async () => {
    expect(await introspect('Bearer everything', await token(TICKETS))).toMatchObject({ status: 200, body: { active: true, aud: TICKETS } });
    expect(await introspect('Bearer nobody', await token(CRM))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });
});
