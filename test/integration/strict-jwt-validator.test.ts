/**
 * Strict parsing where broker access tokens enter downstream (issue 15 item 1): the validation SDK behind
 * its Koa middleware, and the broker's introspection endpoint. Each mutated token is signed with the
 * broker's real key over its own signing input, so only the strict pre-parser can refuse it.
 * The SDK answers 401 invalid_token with a Bearer challenge; introspection answers {"active": false}.
 */
import Koa from 'koa';
import Router from '@koa/router';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { authenticate, TokenValidator, type ValidatedToken } from '../../src/sdk/validator/index.js';
import { close, listen } from '../../src/server/listen.js';
import { asymmetricSigner, type Signer } from '../support/attack-kit.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { MUTATIONS, wellFormed } from '../support/jwt-mutations.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { form } from '../support/token-request.js';

let issuer: TestIssuer;
let broker: RunningTestBroker;
let validatorKey: { key: string; hash: string };
let tool: { validator: TokenValidator; server: Server; url: string };
let sign: Signer;

beforeAll(async () => {
  validatorKey = await createAdminKey('strict-tool');
  const reserved = await reserveBroker();
  issuer = await startTestIssuer();
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(issuer.issuer, reserved.issuer)],
    catalog: testCatalog(),
    agents: [],
    config: { validatorKeys: [{ id: 'strict-tool', hash: validatorKey.hash }] },
  });
  sign = asymmetricSigner(broker.keys.active.privateKey, 'ES256');
  const validator = await TokenValidator.create({ issuer: broker.issuer, resource: CRM, revocation: false });
  const app = new Koa();
  const router = new Router();
  router.get('/accounts/:id', authenticate(validator), (ctx) => {
    ctx.body = { sub: (ctx.state.token as ValidatedToken).sub };
  });
  app.use(router.routes());
  const { server, port } = await listen(app.callback(), '127.0.0.1', 0);
  tool = { validator, server, url: `http://127.0.0.1:${port}` };
});

afterAll(async () => {
  tool.validator.close();
  await close(tool.server);
  await broker.close();
  await issuer.close();
});

const now = () => Math.floor(Date.now() / 1000);
const header = () => ({ alg: 'ES256', typ: 'at+jwt', kid: broker.keys.active.kid });
/** The claims of a token the broker mints for the CRM tool (RFC 9068). */
const claims = () => ({
  iss: broker.issuer, sub: 'alice', aud: CRM, client_id: 'support-agent', scope: 'crm.accounts.read', tool: 'crm',
  act: { sub: 'support-agent' }, iat: now(), exp: now() + 300, jti: randomUUID(),
});

/** A request to the tool; a header value HTTP cannot carry (a line break) never reaches it. */
const callTool = (token: string) => fetch(`${tool.url}/accounts/A`, { headers: { authorization: `Bearer ${token}` } });

async function introspect(token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${broker.issuer}/introspect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${validatorKey.key}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ token }),
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe('positive controls: the same builder, unmutated', () => {
  it('the SDK accepts it', async () => {
    const res = await callTool(wellFormed(header(), claims(), sign));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: 'alice' });
  });

  it('introspection reports it active', async () => {
    expect(await introspect(wellFormed(header(), claims(), sign))).toMatchObject({ status: 200, body: { active: true, sub: 'alice' } });
  });
});

/** Mutations the Authorization header grammar (RFC 6750 §2.1 b64token) already refuses as a malformed header. */
const HEADER_GRAMMAR = new Set(['whitespace inside a segment', '= padding']);

describe.each(MUTATIONS.map((m) => [m.name, m] as const))('%s', (_name, mutation) => {
  it.runIf(mutation.inHeaderField)('the SDK (Koa) -> 401 with its exact error, a challenge, no claims', async () => {
    const res = await callTool(mutation.build(header(), claims(), sign));
    const body = await res.json() as Record<string, unknown>;
    const error = HEADER_GRAMMAR.has(mutation.name) ? 'invalid_request' : 'invalid_token';
    expect(res.status, JSON.stringify(body)).toBe(401);
    expect(body.error).toBe(error);
    expect(body.sub).toBeUndefined();
    expect(res.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer .*error="${error}"`, 'u'));
  });

  it('introspection -> {"active": false}', async () => {
    expect(await introspect(mutation.build(header(), claims(), sign))).toEqual({ status: 200, body: { active: false } });
  });
});

describe('padding the SDK\'s header grammar lets through: "==" after the signature', () => {
  it('the SDK -> 401 invalid_token (jose alone would accept it)', async () => {
    const res = await callTool(`${wellFormed(header(), claims(), sign)}==`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as Record<string, unknown>).error).toBe('invalid_token');
  });

  it('introspection -> {"active": false}', async () => {
    expect(await introspect(`${wellFormed(header(), claims(), sign)}==`)).toEqual({ status: 200, body: { active: false } });
  });
});
