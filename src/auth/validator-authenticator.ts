/**
 * Who may call the validator endpoints (`/introspect`, `/revocations/feed`, `/revocations/stream`):
 *   - `Authorization: Bearer <id>.<secret>`: a validator key, or an admin key (every resource);
 *   - RFC 7662 §2.1 / RFC 6749 §2.3.1 `client_secret_basic`: `Authorization: Basic base64(id:secret)` with a
 *     validator key's id and secret (a validator key *is* the registered resource client: off-the-shelf
 *     gateways that speak standard client authentication use it unchanged);
 *   - RFC 7523 §2.2 `private_key_jwt`: `client_assertion_type` + `client_assertion` in the form, signed by a
 *     key in the validator key entry's `jwks`; `iss` = `sub` = the entry's id, `aud` = the issuer or the
 *     introspection endpoint, `exp` required and at most 10 minutes ahead, `jti` claimed once across replicas.
 * More than one method in one request is refused (RFC 6749 §2.3). A validator key scoped to `resources`
 * returns them, and the routes show only those tools' tokens. Every failure goes to the failure ledger.
 */
import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { parseStrictJwt } from '../jwt/strict-compact.js';
import type { ValidatorAuthenticator, ValidatorCaller } from '../introspection/validator-caller.js';
import type { SharedState } from '../state/shared-state.js';
import type { AuthFailureReason } from './failure-ledger.js';
import { KEY_ID, keyTable, parseBearerKey } from './key-check.js';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Asymmetric only, as for agents' assertions. */
const ASSERTION_ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'];
const MAX_ASSERTION_LIFETIME_SECONDS = 600;
const MAX_ASSERTION_CHARS = 8192;

export interface ValidatorKeyEntry {
  readonly id: string;
  /** Keyed hash of the key's secret (Bearer and HTTP Basic). */
  readonly hash?: string;
  /** Public keys for private_key_jwt. */
  readonly jwks?: { readonly keys: readonly JWK[] };
  /** Canonical resource identifiers this caller may introspect; absent = every resource. */
  readonly resources?: readonly string[];
}

export interface ValidatorAuthenticatorDeps {
  readonly validatorKeys: readonly ValidatorKeyEntry[];
  readonly adminKeys: readonly { readonly id: string; readonly hash: string }[];
  /** The broker's issuer and its introspection endpoint: the accepted assertion audiences. */
  readonly issuer: string;
  readonly introspectionEndpoint: string;
  readonly state: Pick<SharedState, 'claimOnce'>;
  readonly clockSkewSeconds: number;
  readonly onFailure?: (reason: AuthFailureReason, callerAddress: string, presentedId?: string) => void;
  readonly now?: () => number;
}

function caller(entry: ValidatorKeyEntry): ValidatorCaller {
  return { id: entry.id, kind: 'validator_key', ...(entry.resources ? { resources: new Set(entry.resources) } : {}) };
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before base64; undefined when malformed. */
export function parseBasic(authorization: string): { readonly id: string; readonly secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/u.exec(authorization);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    const unform = (s: string) => decodeURIComponent(s.replace(/\+/gu, ' '));
    return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

export function createValidatorAuthenticator(deps: ValidatorAuthenticatorDeps): ValidatorAuthenticator {
  const validators = keyTable(deps.validatorKeys);
  const admins = keyTable(deps.adminKeys);
  const validatorIds = new Set(deps.validatorKeys.map((k) => k.id));
  const withJwks = new Map(deps.validatorKeys.flatMap((k) => (k.jwks ? [[k.id, { entry: k, keys: createLocalJWKSet({ keys: [...k.jwks.keys] }) }] as const] : [])));
  const now = deps.now ?? Date.now;

  const fail = (reason: AuthFailureReason, address: string, id?: string): ValidatorCaller | undefined => {
    deps.onFailure?.(reason, address, id);
    return undefined;
  };

  async function byAssertion(assertion: string, claimedId: string | undefined, address: string): Promise<ValidatorCaller | undefined> {
    let id: string;
    try {
      // Strictly parsed first, as every JWT entering the broker (src/jwt/strict-compact.ts): one spelling,
      // no duplicate claims, bounded depth, no future iat; jose then verifies the same bytes.
      const strict = parseStrictJwt(assertion, { nowMs: now(), clockSkewSeconds: deps.clockSkewSeconds, maxChars: MAX_ASSERTION_CHARS });
      if (!strict.ok) return fail('malformed', address);
      const { iss, sub } = strict.payload;
      if (typeof iss !== 'string' || iss !== sub || !KEY_ID.test(iss)) return fail('assertion_invalid', address);
      id = iss;
    } catch {
      return fail('malformed', address);
    }
    if (claimedId !== undefined && claimedId !== id) return fail('assertion_invalid', address, id);
    const registered = withJwks.get(id);
    if (!registered) return fail('unknown_id', address, id);
    let exp: number;
    let jti: string;
    try {
      const { payload } = await jwtVerify(assertion, registered.keys, {
        issuer: id, subject: id, audience: [deps.issuer, deps.introspectionEndpoint], algorithms: ASSERTION_ALGS,
        clockTolerance: deps.clockSkewSeconds, requiredClaims: ['exp', 'jti'], currentDate: new Date(now()),
      });
      exp = payload.exp ?? 0;
      jti = String(payload.jti);
    } catch {
      return fail('assertion_invalid', address, id);
    }
    const nowSeconds = Math.floor(now() / 1000);
    // A bounded lifetime bounds how long the jti must be remembered (RFC 7523 §3 lets the server limit it).
    if (exp - nowSeconds > MAX_ASSERTION_LIFETIME_SECONDS + deps.clockSkewSeconds) return fail('assertion_invalid', address, id);
    const jtiHash = createHash('sha256').update(jti).digest('base64url');
    // Claimed until it expires (plus skew), at every replica. If the claim cannot be made the assertion is refused
    // (fails closed): the contract answers a caller or nothing, never throws (validator-caller.ts).
    let first: boolean;
    try {
      first = await deps.state.claimOnce(`client-assertion:${id}:${jtiHash}`, (exp - nowSeconds + 2 * deps.clockSkewSeconds) * 1000);
    } catch {
      return fail('replay_check_unavailable', address, id);
    }
    if (!first) return fail('assertion_replayed', address, id);
    return caller(registered.entry);
  }

  return async function authenticate(request) {
    const address = request.callerAddress ?? 'unknown';
    const authorization = request.authorization;
    const assertion = request.form?.getAll('client_assertion') ?? [];
    const assertionType = request.form?.getAll('client_assertion_type') ?? [];
    const formSecret = request.form?.has('client_secret') === true;
    const methods = [authorization !== undefined, assertion.length > 0, formSecret].filter(Boolean).length;
    if (methods === 0) return fail('missing', address);
    // RFC 6749 §2.3: one method per request; client_secret_post is not offered.
    if (methods > 1 || formSecret) return fail('malformed', address);

    if (assertion.length > 0) {
      if (assertion.length !== 1 || assertionType.length !== 1 || assertionType[0] !== JWT_BEARER_ASSERTION) return fail('malformed', address);
      const ids = request.form?.getAll('client_id') ?? [];
      if (ids.length > 1) return fail('malformed', address);
      return byAssertion(assertion[0] ?? '', ids[0], address);
    }

    const header = authorization ?? '';
    if (/^Basic /iu.test(header)) {
      const basic = parseBasic(header.replace(/^basic /iu, 'Basic '));
      if (!basic || !KEY_ID.test(basic.id)) return fail('malformed', address);
      // A client_id in the body must name the same client (RFC 6749 §2.3.1 allows sending it; it cannot differ).
      const bodyIds = request.form?.getAll('client_id') ?? [];
      if (bodyIds.some((id) => id !== basic.id)) return fail('malformed', address, basic.id);
      const result = validators.check(basic.id, basic.secret);
      return result.ok ? caller(result.entry) : fail(result.reason, address, result.presentedId);
    }
    const bearer = parseBearerKey(header);
    if (!bearer) return fail('malformed', address);
    // One table or the other, each one HMAC: the cost does not depend on which table holds the id.
    if (validatorIds.has(bearer.id)) {
      const result = validators.check(bearer.id, bearer.secret);
      return result.ok ? caller(result.entry) : fail(result.reason, address, result.presentedId);
    }
    const result = admins.check(bearer.id, bearer.secret);
    return result.ok ? { id: result.entry.id, kind: 'admin_key' } : fail(result.reason, address, result.presentedId);
  };
}
