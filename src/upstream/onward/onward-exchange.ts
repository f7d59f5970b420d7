/**
 * The onward exchange, imperative shell (issue 17): verify the broker token the tool presents (signature with
 * the broker's own keys, `iss`, `typ`, `exp`: verify-broker-token.ts), check revocations in the shared state,
 * decide (decide-onward.ts), then serve the user's upstream credential from the cache or obtain it through the
 * tool's connector within a bound. Returns the RFC 8693 response body or a denial, and the record's fields:
 * fingerprints only, never the credential or an assertion.
 */
import { decodeJwt, type JWTPayload } from 'jose';
import type { Agent } from '../../domain/agent.js';
import type { Catalog } from '../../domain/catalog.js';
import type { SubjectClaims } from '../../domain/exchange.js';
import { chainActors } from '../../exchange/act-chain.js';
import { deny, isDenial, type Denial } from '../../exchange/reasons.js';
import { candidateRuleIds, isRevokedBy, type SharedState } from '../../state/shared-state.js';
import { tokenFingerprint } from '../../subject-token/verify-incoming-token.js';
import type { UpstreamConnector, UpstreamFailure, UpstreamResult } from '../connector.js';
import { isUpstreamFailure } from '../connector.js';
import { cacheKey, entryRevokedBy, entryRuleIds, type UpstreamCredentialCache } from '../credential-cache.js';
import { toolForAgent } from './agent-delivery.js';
import { BROKER_ACCESS_TOKEN_TYPE, checkOnwardRequest, decideOnward, toolOfIdentity, type BrokerTokenClaims, type OnwardParams } from './decide-onward.js';
import type { ExchangeRecord } from '../../attribution/record.js';

/** What the attribution record carries about an onward exchange: defined once, by the record (record.ts `onward`). */
export type OnwardRecord = NonNullable<ExchangeRecord['onward']>;

export interface OnwardDeps {
  readonly brokerIssuer: string;
  readonly catalog: () => Catalog;
  readonly verifyBrokerToken: (token: string, nowMs: number) => Promise<JWTPayload | undefined>;
  readonly state: Pick<SharedState, 'revocationsByIds'>;
  readonly connectorFor: (tool: NonNullable<ReturnType<Catalog['tools']['get']>>) => Promise<UpstreamConnector | undefined>;
  readonly cache: UpstreamCredentialCache;
  readonly now: () => number;
  /** Hard bound on obtaining a credential from the SaaS (the connector bounds each call too). */
  readonly timeoutMs: number;
}

export interface OnwardOutcome {
  readonly result: Denial | { readonly body: Record<string, unknown> };
  readonly record: OnwardRecord;
  readonly tool?: NonNullable<ReturnType<Catalog['tools']['get']>>;
  readonly subject?: SubjectClaims;
  readonly subjectFingerprint?: string;
}

function asClaims(payload: JWTPayload): BrokerTokenClaims | undefined {
  const { sub, aud, jti, iat, exp } = payload;
  if (typeof sub !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number' || aud === undefined) return undefined;
  return { ...payload, sub, aud, jti, iat, exp };
}

/** Why a broker token did not verify: expired (its unverified `exp`, for the reason code only) or invalid. */
function invalidSubject(token: string, nowMs: number): Denial {
  try {
    const { exp } = decodeJwt(token);
    if (typeof exp === 'number' && exp * 1000 <= nowMs) return deny('subject_token_expired', 'the subject_token has expired');
  } catch { /* not even a JWT */ }
  return deny('subject_token_invalid', 'the subject_token is not a valid token of this broker');
}

function failureDenial(failure: UpstreamFailure): Denial {
  if (failure.failure === 'refused') {
    return deny('upstream_refused', `the upstream authorization server refused: ${failure.error}${failure.description ? ` (${failure.description})` : ''}`);
  }
  if (failure.failure === 'not_connected') return deny('upstream_not_connected', `the user has not connected this service: ${failure.connectUrl}`);
  return deny('upstream_unavailable', failure.description);
}

async function bounded(work: Promise<UpstreamResult>, ms: number, controller: AbortController): Promise<UpstreamResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<UpstreamResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ failure: 'unavailable', description: `the upstream did not answer within ${String(ms)} ms` });
    }, ms);
  });
  try {
    return await Promise.race([work.catch((): UpstreamResult => ({ failure: 'unavailable', description: 'the upstream connector failed' })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The audiences a token names, unverified: only to pick among tools, never to decide (decideOnward does). */
function unverifiedAudiences(token: string): string[] {
  try {
    const { aud } = decodeJwt(token);
    return typeof aud === 'string' ? [aud] : aud ?? [];
  } catch {
    return [];
  }
}

/**
 * `recipient`: `tool` (a tool identity, the default) or `agent` with the upstream it named (`deliver_to_agent`,
 * agent-delivery.ts): the agent itself receives the credential, only where the tool's catalog entry says so.
 */
export async function runOnwardExchange(identity: Agent, params: OnwardParams, deps: OnwardDeps, recipient: { readonly agentTarget?: string } = {}): Promise<OnwardOutcome> {
  const framed = checkOnwardRequest(params);
  const catalog = deps.catalog();
  const toAgent = recipient.agentTarget !== undefined;
  // For an agent, whether the catalog allows delivery to agents at all comes first (the refusal it must get).
  const owned = toAgent ? toolForAgent(catalog, recipient.agentTarget ?? '', isDenial(framed) ? [] : unverifiedAudiences(framed.subjectToken)) : undefined;
  if (owned && isDenial(owned)) return { result: owned, record: { upstream: recipient.agentTarget ?? '', delivered_to: 'agent' }, ...(isDenial(framed) ? {} : { subjectFingerprint: tokenFingerprint(framed.subjectToken) }) };
  if (isDenial(framed)) return { result: framed, record: {} };
  const subjectFingerprint = tokenFingerprint(framed.subjectToken);
  return onwardFor(identity, params, deps, framed.subjectToken, subjectFingerprint, owned ?? toolOfIdentity(identity, catalog), toAgent ? 'agent' : 'tool');
}

/** The exchange proper, once the request is framed and the tool (and its upstream) is known. */
async function onwardFor(identity: Agent, params: OnwardParams, deps: OnwardDeps, subjectToken: string, subjectFingerprint: string, owned: ReturnType<typeof toolOfIdentity>, deliveredTo: 'tool' | 'agent'): Promise<OnwardOutcome> {
  const catalog = deps.catalog();
  if (isDenial(owned)) return { result: owned, record: {}, subjectFingerprint };
  const { tool, upstream } = owned;
  const base = { tool, subjectFingerprint };

  const nowMs = deps.now();
  const payload = await deps.verifyBrokerToken(subjectToken, nowMs);
  const claims = payload ? asClaims(payload) : undefined;
  if (!claims) return { ...base, result: invalidSubject(subjectToken, nowMs), record: { upstream: upstream.resource } };
  const subject: SubjectClaims = {
    iss: deps.brokerIssuer, sub: claims.sub, exp: claims.exp, iat: claims.iat,
    scopes: typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [], fingerprint: subjectFingerprint,
  };
  const record: OnwardRecord = { upstream: upstream.resource, connector: upstream.connector, subject_jti: claims.jti, delivered_to: deliveredTo };
  const withSubject = { ...base, subject };

  const plan = decideOnward({ identity, tool, upstream, catalog, params, claims, brokerIssuer: deps.brokerIssuer, recipient: deliveredTo });
  if (isDenial(plan)) return { ...withSubject, result: plan, record };
  const planned: OnwardRecord = { ...record, upstream_scopes: plan.upstreamScopes, actors: chainActors(plan.act) };

  // Revocations: the presented token's rules (jti, its chain, user, tool) and those of a cached entry's own chain.
  const key = cacheKey(plan.user.sub, tool.id, plan.upstreamScopes);
  // A `vault` connection is read from the shared store on every exchange (its access tokens are cached there,
  // sealed): a disconnect on any replica then takes effect at once, which a process-local copy would defeat.
  const useCache = upstream.connector !== 'vault';
  const cached = useCache ? deps.cache.get(key, nowMs) : undefined;
  const ids = new Set(candidateRuleIds(claims));
  if (cached) for (const id of entryRuleIds(cached)) ids.add(id);
  let rules;
  try {
    rules = await deps.state.revocationsByIds([...ids]);
  } catch {
    return { ...withSubject, result: deny('state_unavailable', 'revocations cannot be checked right now; try again later'), record: planned };
  }
  for (const rule of rules) deps.cache.dropRevoked(rule);
  if (rules.some((rule) => isRevokedBy(claims, rule))) {
    return { ...withSubject, result: deny('onward_subject_revoked', 'the subject_token has been revoked'), record: planned };
  }

  let credential = cached && !rules.some((rule) => entryRevokedBy(cached, rule)) ? cached.credential : undefined;
  const fromCache = credential !== undefined;
  if (!credential) {
    const connector = await deps.connectorFor(tool);
    if (!connector) return { ...withSubject, result: deny('tool_identity_without_upstream', 'this tool has no upstream connector'), record: planned };
    const controller = new AbortController();
    const obtained = await bounded(connector.obtain({ user: plan.user, tool: tool.id, upstreamScopes: plan.upstreamScopes, brokerTokenJti: plan.brokerJti, nowMs, ...(plan.agent !== undefined ? { agent: plan.agent } : {}) }, controller.signal), deps.timeoutMs, controller);
    if (isUpstreamFailure(obtained)) return { ...withSubject, result: failureDenial(obtained), record: planned };
    credential = obtained;
    if (useCache) deps.cache.set(key, { credential, obtainedAtMs: nowMs, user: plan.user.sub, tool: tool.id, agents: chainActors(plan.act) });
  }
  const expiresIn = Math.max(1, Math.floor((credential.expiresAtMs - deps.now()) / 1000));
  return {
    ...withSubject,
    record: { ...planned, cached: fromCache, credential_sha256: tokenFingerprint(credential.accessToken), upstream_scopes: credential.scopes },
    result: {
      body: {
        access_token: credential.accessToken,
        issued_token_type: BROKER_ACCESS_TOKEN_TYPE,
        token_type: credential.tokenType,
        expires_in: expiresIn,
        scope: credential.scopes.join(' '),
      },
    },
  };
}
