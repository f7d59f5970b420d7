/**
 * One real broker per adversarial test file, with the upstream IdP (real oidc-provider user tokens) and a
 * test issuer (arbitrary claims and headers) both trusted, and the standard agents:
 *   - `support-agent`: client_secret_basic, crm read/write, tickets, payroll, after-hours; no actor tokens.
 *   - `key-agent`: private_key_jwt, crm read only.
 * Files add their own issuers, agents and configuration.
 */
import type { JWTPayload } from 'jose';
import type { Agent } from '../../src/domain/agent.js';
import type { BrokerConfig, TrustedIssuer } from '../../src/domain/broker-config.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { AttackClient, type ClientAuth } from './attack-kit.js';
import { keyAgent, reserveBroker, trustedIssuer, type RunningTestBroker } from './broker-harness.js';
import { testCatalog } from './catalog.js';
import { startTestIssuer, type TestIssuer } from './test-issuer.js';
import { startUpstreamIdp, type UpstreamIdp } from './upstream-idp.js';

export const SUPPORT_SECRET = 'support-agent-secret-for-attack-tests';

export interface AttackBed {
  readonly broker: RunningTestBroker;
  readonly idp: UpstreamIdp;
  /** Trusted for subject tokens: ES256 only, aud = the broker, max token age 1 h. */
  readonly issuer: TestIssuer;
  readonly client: AttackClient;
  /** client_secret_basic credentials of `support-agent`. */
  readonly support: ClientAuth;
  /** private_key_jwt credentials of `key-agent`. */
  readonly keyAgent: Extract<ClientAuth, { kind: 'private_key_jwt' }>;
  /** Claims of a good user token from `issuer` (alice, all her scopes, 10 min), with overrides. */
  claims(overrides?: JWTPayload): JWTPayload;
  /** A good user token from `issuer`, with claim overrides. */
  userToken(overrides?: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

export interface AttackBedOptions {
  /** More trusted issuers, given the broker's issuer identifier (the audience of user tokens). */
  readonly extraIssuers?: (brokerIssuer: string) => readonly TrustedIssuer[];
  readonly agents?: readonly Agent[];
  readonly config?: Partial<BrokerConfig>;
}

export async function secretAgent(clientId: string, secret: string, tools: Record<string, string[]>, overrides: Partial<Agent> = {}): Promise<Agent> {
  return {
    clientId, name: `${clientId} (test)`, owner: 'tests@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(secret) },
    tools: new Map(Object.entries(tools)),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: `test:${clientId}`,
    ...overrides,
  };
}

export async function startAttackBed(opts: AttackBedOptions = {}): Promise<AttackBed> {
  const reserved = await reserveBroker();
  const idp = await startUpstreamIdp({ audience: reserved.issuer });
  const issuer = await startTestIssuer();
  const support = await secretAgent('support-agent', SUPPORT_SECRET, {
    crm: ['crm.accounts.read', 'crm.accounts.write'],
    tickets: ['tickets.read'],
    payroll: ['payroll.read'],
    'after-hours': ['crm.accounts.read'],
  });
  const ka = await keyAgent('key-agent', { crm: ['crm.accounts.read'] });
  const broker = await reserved.start({
    trustedIssuers: [
      trustedIssuer(idp.issuer, reserved.issuer, { algorithms: ['ES256'] }),
      trustedIssuer(issuer.issuer, reserved.issuer, { algorithms: ['ES256'], maxTokenAgeSeconds: 3600 }),
      ...(opts.extraIssuers?.(reserved.issuer) ?? []),
    ],
    catalog: testCatalog(),
    agents: [support, ka.agent, ...(opts.agents ?? [])],
    ...(opts.config ? { config: opts.config } : {}),
  });
  const claims = (overrides: JWTPayload = {}): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: issuer.issuer, sub: 'alice', aud: broker.issuer,
      scope: 'crm.read crm.write tickets.read payroll.read',
      iat: now, exp: now + 600, jti: crypto.randomUUID(),
      ...overrides,
    };
  };
  return {
    broker,
    idp,
    issuer,
    client: new AttackClient(broker),
    support: { kind: 'basic', clientId: 'support-agent', secret: SUPPORT_SECRET },
    keyAgent: { kind: 'private_key_jwt', clientId: 'key-agent', key: ka.privateKey, kid: ka.kid },
    claims,
    userToken: (overrides) => issuer.sign(claims(overrides)),
    async close() {
      await broker.close();
      await idp.close();
      await issuer.close();
    },
  };
}
