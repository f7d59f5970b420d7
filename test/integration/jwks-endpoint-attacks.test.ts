/**
 * A trusted issuer whose keys cannot be obtained (STANDARDS "Attack families": a slow, failing or
 * redirecting JWKS endpoint): the broker fails closed with 503 temporarily_unavailable within a bounded
 * time, never follows a redirect, and keeps using keys it already cached within their lifetime.
 * Each behaviour gets its own issuer, so no cached keys from another case interfere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrustedIssuer } from '../../src/domain/broker-config.js';
import { closedPort, expectDenied, expectGranted, startCanary, type Canary } from '../support/attack-kit.js';
import { startAttackBed, type AttackBed } from '../support/attack-bed.js';
import { trustedIssuer } from '../support/broker-harness.js';
import { CRM } from '../support/catalog.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

const UPSTREAM_TIMEOUT_MS = 1000;

let bed: AttackBed;
let failing: TestIssuer;
let hanging: TestIssuer;
let redirecting: TestIssuer;
let garbage: TestIssuer;
let cached: TestIssuer;
let redirectTarget: Canary;
let deadIssuer: string;

beforeAll(async () => {
  [failing, hanging, redirecting, garbage, cached] = await Promise.all([
    startTestIssuer(), startTestIssuer(), startTestIssuer(), startTestIssuer(), startTestIssuer(),
  ]);
  // The redirect target serves the issuer's real keys: following the redirect would make the token verify.
  redirectTarget = await startCanary(redirecting.publicJwks);
  deadIssuer = `http://127.0.0.1:${await closedPort()}`;
  const trusted = (iss: string, brokerIssuer: string, extra: Partial<TrustedIssuer> = {}) =>
    trustedIssuer(iss, brokerIssuer, { algorithms: ['ES256'], ...extra });
  bed = await startAttackBed({
    config: { upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS },
    extraIssuers: (brokerIssuer) => [
      trusted(failing.issuer, brokerIssuer),
      trusted(hanging.issuer, brokerIssuer),
      // Configured jwks_uri: no discovery step, the JWKS fetch itself meets the redirect.
      trusted(redirecting.issuer, brokerIssuer, { jwksUri: redirecting.jwksUri }),
      trusted(garbage.issuer, brokerIssuer),
      trusted(cached.issuer, brokerIssuer),
      trusted(deadIssuer, brokerIssuer),
    ],
  });
  failing.setJwksBehaviour('fail500');
  hanging.setJwksBehaviour('hang');
  redirecting.setJwksBehaviour('redirect', { redirectTo: `${redirectTarget.url}/jwks` });
  garbage.setJwksBehaviour('garbage');
});

afterAll(async () => {
  await bed.close();
  await Promise.all([failing, hanging, redirecting, garbage, cached].map((i) => i.close()));
  await redirectTarget.close();
});

async function presentFrom(issuer: TestIssuer) {
  const token = await issuer.sign(bed.claims({ iss: issuer.issuer }));
  return bed.client.exchange(bed.support, { subject_token: token, resource: CRM, scope: 'crm.accounts.read' });
}

const UNAVAILABLE = { status: 503, error: 'temporarily_unavailable', reason: 'issuer_unavailable' } as const;

describe('an unusable JWKS endpoint fails closed', () => {
  it('JWKS answering 500 -> 503 temporarily_unavailable', async () => {
    expectDenied(await presentFrom(failing), UNAVAILABLE);
    expect(failing.jwksRequests()).toBeGreaterThan(0);
  });

  it('JWKS hanging -> 503 within a bounded time (upstreamTimeoutMs 1000)', async () => {
    const res = await presentFrom(hanging);
    expectDenied(res, UNAVAILABLE);
    expect(res.elapsedMs).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 100);
    expect(res.elapsedMs).toBeLessThan(3000);
  });

  it('JWKS redirecting elsewhere -> 503, and the redirect is not followed', async () => {
    expectDenied(await presentFrom(redirecting), UNAVAILABLE);
    expect(redirecting.jwksRequests()).toBeGreaterThan(0);
    expect(redirectTarget.hits()).toBe(0);
  });

  it('JWKS returning garbage -> 503', async () => {
    expectDenied(await presentFrom(garbage), UNAVAILABLE);
  });

  it('issuer not reachable at all (discovery refused) -> 503, quickly', async () => {
    const token = await bed.issuer.sign(bed.claims({ iss: deadIssuer }));
    const res = await bed.client.exchange(bed.support, { subject_token: token, resource: CRM, scope: 'crm.accounts.read' });
    expectDenied(res, UNAVAILABLE);
    expect(res.elapsedMs).toBeLessThan(3000);
  });

  it('a second request while the dead issuer is in its retry back-off fails closed too', async () => {
    const token = await bed.issuer.sign(bed.claims({ iss: deadIssuer }));
    const res = await bed.client.exchange(bed.support, { subject_token: token, resource: CRM, scope: 'crm.accounts.read' });
    expectDenied(res, UNAVAILABLE);
  });

  it('a hanging issuer does not hold up tokens from other issuers', async () => {
    const slow = presentFrom(hanging);
    const fast = await bed.client.exchange(bed.support, { subject_token: await bed.userToken(), resource: CRM, scope: 'crm.accounts.read' });
    expect(fast.status).toBe(200);
    expect(fast.elapsedMs).toBeLessThan(UPSTREAM_TIMEOUT_MS);
    expect((await slow).status).toBe(503);
  });
});

describe('cached keys are used within their lifetime', () => {
  it('keeps verifying with cached keys after the JWKS endpoint starts failing', async () => {
    expectGranted(await presentFrom(cached));
    const fetches = cached.jwksRequests();
    cached.setJwksBehaviour('fail500');
    expectGranted(await presentFrom(cached));
    expect(cached.jwksRequests()).toBe(fetches);
  });

  it('still refuses a forged token for that issuer while its JWKS is down (unknown kid, no refetch storm)', async () => {
    const forged = await cached.sign(bed.claims({ iss: cached.issuer }), { header: { kid: 'not-published' } });
    const fetches = cached.jwksRequests();
    const res = await bed.client.exchange(bed.support, { subject_token: forged, resource: CRM, scope: 'crm.accounts.read' });
    // Within the refetch cooldown the cached set is authoritative: the kid is simply unknown.
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'subject_token_invalid' });
    expect(cached.jwksRequests()).toBe(fetches);
  });
});

describe('attribution hygiene', () => {
  it('no attribution record contains a raw token that was sent', () => {
    const all = JSON.stringify(bed.broker.sink.records);
    for (const token of bed.client.sent) expect(all).not.toContain(token);
  });
});
