/**
 * Step `client-authentication`: who is asking (RFC 6749 §2.3, RFC 8693 §2.1). Exactly one method per request
 * (RFC 6749 §2.3), one of the two the broker offers:
 *   - client_secret_basic (RFC 6749 §2.3.1): checked against the stored scrypt hash behind the verified-secret
 *     cache, the failure throttle and the hash gate (src/auth/agent-secret-guard.ts); unknown ids and
 *     private_key_jwt agents cost the same dummy check, so timing tells no ids apart;
 *   - private_key_jwt (RFC 7523 §3): a strictly parsed assertion (src/jwt/strict-compact.ts) signed by one
 *     of the agent's registered keys, whose `jti` is used once across every replica (the shared replay cache).
 * client_secret_post is not offered: a body `client_secret` counts as a method for the one-method rule and
 * authenticates nothing. Failures are 401 invalid_client (with a `Basic` challenge when the caller used the
 * Authorization header, RFC 6749 §5.2); a malformed header or parameter is 400 invalid_request.
 * No browser origin may call the token endpoint (agents are servers; RFC 9700 §2.5): a request with an
 * `Origin` that names a registered agent is refused as soon as the agent is identified, before any secret
 * or signature is checked.
 */
import type { AgentRegistry } from '../../domain/agent.js';
import { deny, isDenial, type Denial } from '../../exchange/reasons.js';
import type { RawParams } from '../../domain/exchange.js';
import { parseStrictJwt } from '../../jwt/strict-compact.js';
import { BUSY_DESCRIPTION, throttledDescription, type AgentSecretChecker } from '../../auth/agent-secret-guard.js';
import type { AssertionReplayCache } from '../../provider/assertion-replay.js';
import { parseBasicCredentials } from './client-authentication/basic-credentials.js';
import { checkClientAssertion } from './client-authentication/client-assertion.js';
import type { TokenHttpRequest } from '../pipeline/http-request.js';
import { defineStep, refuse, type Refusal, type StepResult } from '../pipeline/step.js';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientAuthenticationDeps {
  readonly agents: () => AgentRegistry;
  /** The issuer identifier and the token endpoint URL: the audiences an assertion may name. */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  /**
   * The URL of the endpoint being called when it is not the token endpoint (`/revoke`): accepted as an
   * assertion's audience too, as oidc-provider accepted it ("the endpoint url, issuer identifier or token
   * endpoint url"; RFC 7523 §3 names the authorization server, not one endpoint).
   */
  readonly endpoint?: string;
  readonly secrets: AgentSecretChecker;
  readonly assertionReplay: AssertionReplayCache;
  readonly clockSkewSeconds: number;
  readonly now: () => number;
}

/** The parameters client authentication reads from the form (oidc-provider's set for these methods). */
const CLIENT_AUTH_PARAMS = ['client_id', 'client_assertion', 'client_assertion_type'] as const;

function single(form: RawParams, name: string): string | undefined {
  const value = Object.hasOwn(form, name) ? form[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function present(form: RawParams, name: string): boolean {
  const value = Object.hasOwn(form, name) ? form[name] : undefined;
  return value !== undefined && value !== '';
}

/** RFC 6749 §5.2: a failed authentication through the Authorization header carries a `Basic` challenge. */
function invalidClient(denial: Denial, realm: string, usedHeader: boolean, clientId?: string): Refusal {
  return refuse(denial, {
    ...(usedHeader ? { headers: { 'WWW-Authenticate': `Basic realm="${realm}", error="invalid_client"` } } : {}),
    ...(clientId !== undefined ? { established: { clientId } } : {}),
  });
}

const failed = (problem: string) => deny('client_authentication_failed', problem);

function fromBrowser(req: TokenHttpRequest, clientId: string): Refusal | undefined {
  if (req.origin === undefined || req.origin === '') return undefined;
  return refuse(deny('request_malformed', 'a token request from a browser origin is not accepted'), { established: { clientId } });
}

async function basic(header: string, form: RawParams, req: TokenHttpRequest, deps: ClientAuthenticationDeps): Promise<StepResult> {
  const credentials = parseBasicCredentials(header);
  if (isDenial(credentials)) {
    return credentials.reason === 'client_authentication_missing'
      ? refuse(credentials, { headers: { 'WWW-Authenticate': 'Basic realm="token"' } })
      : credentials;
  }
  const bodyId = single(form, 'client_id');
  if (bodyId !== undefined && bodyId !== credentials.clientId) return deny('request_malformed', 'client_id mismatch');
  const agent = deps.agents().agents.get(credentials.clientId);
  const browser = agent && fromBrowser(req, agent.clientId);
  if (browser) return browser;
  const hash = agent?.authentication.method === 'client_secret_basic' ? agent.authentication.secretHash : undefined;
  const result = await deps.secrets.check(hash, credentials.secret, credentials.clientId, req.address);
  const known = agent ? credentials.clientId : undefined;
  switch (result.kind) {
    case 'throttled':
      return refuse(deny('client_authentication_throttled', throttledDescription(result.scope, result.retryAfterSeconds)), {
        headers: { 'Retry-After': String(result.retryAfterSeconds) }, ...(known ? { established: { clientId: known } } : {}),
      });
    case 'busy':
      return refuse(deny('client_authentication_busy', BUSY_DESCRIPTION), {
        headers: { 'Retry-After': String(result.retryAfterSeconds) }, ...(known ? { established: { clientId: known } } : {}),
      });
    case 'wrong':
      if (!agent) return invalidClient(deny('agent_unknown', 'client not found'), deps.issuer, true);
      return invalidClient(
        failed(hash === undefined ? 'the provided authentication mechanism does not match the registered client authentication method' : 'invalid secret provided'),
        deps.issuer, true, agent.clientId,
      );
    case 'verified':
      // A dummy hash never verifies; `hash` is the agent's own.
      return agent && hash !== undefined ? { clientId: agent.clientId, agent } : invalidClient(failed('invalid secret provided'), deps.issuer, true);
  }
}

async function assertion(value: string, form: RawParams, req: TokenHttpRequest, deps: ClientAuthenticationDeps): Promise<StepResult> {
  const nowMs = deps.now();
  // RFC 7523 §3.2: an assertion that is not a well-formed signed JWT is invalid_client, like any other failure.
  const jws = parseStrictJwt(value, { nowMs, clockSkewSeconds: deps.clockSkewSeconds });
  if (!jws.ok) return refuse(failed(`the client_assertion ${jws.description}`));
  const sub = jws.payload.sub;
  if (typeof sub !== 'string' || sub === '') return refuse(failed('sub (JWT subject) must be provided in the client_assertion JWT'));
  const type = single(form, 'client_assertion_type');
  if (type === undefined) return deny('request_malformed', 'client_assertion_type must be provided');
  if (type !== JWT_BEARER_ASSERTION) return deny('request_malformed', `client_assertion_type must have value ${JWT_BEARER_ASSERTION}`);
  const bodyId = single(form, 'client_id');
  if (bodyId !== undefined && bodyId !== sub) return deny('request_malformed', 'client_id mismatch');
  const agent = deps.agents().agents.get(sub);
  if (!agent) return refuse(deny('agent_unknown', 'client not found'));
  const browser = fromBrowser(req, agent.clientId);
  if (browser) return browser;
  const established = { established: { clientId: agent.clientId } };
  if (agent.authentication.method !== 'private_key_jwt') {
    return refuse(failed('the provided authentication mechanism does not match the registered client authentication method'), established);
  }
  const check = checkClientAssertion(jws, {
    clientId: agent.clientId, audiences: deps.endpoint === undefined ? [deps.issuer, deps.tokenEndpoint] : [deps.issuer, deps.tokenEndpoint, deps.endpoint], keys: agent.authentication.jwks.keys,
    nowMs, clockSkewSeconds: deps.clockSkewSeconds,
  });
  if (!check.ok) return refuse(failed(check.problem), established);
  let first: boolean;
  try {
    first = await deps.assertionReplay.unique(agent.clientId, check.jti, check.exp + deps.clockSkewSeconds);
  } catch {
    return refuse(deny('state_unavailable', 'the client assertion replay cache cannot be checked right now; try again later'), established);
  }
  if (!first) return refuse(failed('client assertion tokens must only be used once'), established);
  return { clientId: agent.clientId, agent };
}

export const clientAuthentication = defineStep<ClientAuthenticationDeps, 'form'>('client-authentication', ['form'], async (facts, req, deps) => {
  const { form } = facts;
  for (const name of CLIENT_AUTH_PARAMS) {
    if (Array.isArray(form[name])) return deny('request_malformed', `${name} parameter must not be provided twice`);
  }
  const header = req.authorization;
  const usedHeader = header !== undefined && header !== '';
  const clientAssertion = single(form, 'client_assertion');
  const methods = Number(usedHeader) + Number(present(form, 'client_secret')) + Number(clientAssertion !== undefined);
  if (methods > 1) return deny('client_authentication_ambiguous', 'client authentication must only be provided using one mechanism');
  if (usedHeader) return basic(header, form, req, deps);
  if (clientAssertion !== undefined) return assertion(clientAssertion, form, req, deps);
  // No usable credentials: a client id alone names a client that did not authenticate.
  const clientId = single(form, 'client_id');
  if (clientId === undefined) {
    return refuse(deny('client_authentication_missing', 'client authentication is required'), { headers: { 'WWW-Authenticate': 'Basic realm="token"' } });
  }
  const agent = deps.agents().agents.get(clientId);
  if (!agent) return refuse(deny('agent_unknown', 'client not found'));
  return fromBrowser(req, clientId) ?? refuse(failed('the provided authentication mechanism does not match the registered client authentication method'), { established: { clientId } });
});
