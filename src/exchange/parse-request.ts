/**
 * Turns the raw token-request parameters into a well-formed `ExchangeRequest` (RFC 8693 §2.1),
 * or the first reason it is not one. Pure: no I/O, no clock.
 *
 * Descriptions never echo a parameter value: they name the parameter and the rule only.
 */
import type { RequestLimits } from '../domain/broker-config.js';
import {
  TOKEN_TYPE,
  type AcceptedTokenType,
  type ExchangeRequest,
  type IssuedTokenType,
  type RawParams,
} from '../domain/exchange.js';
import { deny, isDenial, type Denial } from './reasons.js';
import { parseScopeParameter } from './scope-syntax.js';

/** Parameters that may only appear once; an array for any of them is a malformed request. */
const SINGLE_VALUED = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'scope',
] as const;
type SingleValuedName = (typeof SINGLE_VALUED)[number];

/** Parameters that may be repeated (RFC 8707 `resource`, RFC 8693 `audience`). */
type MultiValuedName = 'resource' | 'audience';

const ACCEPTED_TOKEN_TYPES: readonly string[] = [TOKEN_TYPE.accessToken, TOKEN_TYPE.jwt];

function isAcceptedTokenType(value: string): value is AcceptedTokenType {
  return ACCEPTED_TOKEN_TYPES.includes(value);
}

function isIssuedTokenType(value: string): value is IssuedTokenType {
  return ACCEPTED_TOKEN_TYPES.includes(value);
}

/** Own property only, so names like `constructor` never reach the prototype chain. */
function rawValue(params: RawParams, name: string): unknown {
  return Object.hasOwn(params, name) ? params[name] : undefined;
}

type Singles = Readonly<Partial<Record<SingleValuedName, string>>>;

/** The single-valued parameters, with empty strings treated as omitted. */
function readSingles(params: RawParams): Singles | Denial {
  const singles: Partial<Record<SingleValuedName, string>> = {};
  for (const name of SINGLE_VALUED) {
    const value = rawValue(params, name);
    if (value === undefined) continue;
    if (typeof value !== 'string') return deny('request_malformed', `parameter ${name} must appear at most once`);
    if (value !== '') singles[name] = value;
  }
  return singles;
}

/** A repeatable parameter as a list, empty values dropped. */
function readMulti(params: RawParams, name: MultiValuedName): string[] | Denial {
  const value = rawValue(params, name);
  if (value === undefined) return [];
  const values: readonly unknown[] = Array.isArray(value) ? value : [value];
  const result: string[] = [];
  for (const item of values) {
    if (typeof item !== 'string') return deny('request_malformed', `parameter ${name} must be a string`);
    if (item !== '') result.push(item);
  }
  return result;
}

export function parseExchangeRequest(params: RawParams, limits: RequestLimits): ExchangeRequest | Denial {
  const singles = readSingles(params);
  if (isDenial(singles)) return singles;

  const subjectToken = singles.subject_token;
  if (subjectToken === undefined) return deny('subject_token_missing', 'subject_token is required');
  if (subjectToken.length > limits.maxTokenChars) return deny('token_too_large', 'subject_token is too large');

  const subjectTokenType = singles.subject_token_type;
  if (subjectTokenType === undefined) {
    return deny('subject_token_type_unsupported', 'subject_token_type is required');
  }
  if (!isAcceptedTokenType(subjectTokenType)) {
    return deny('subject_token_type_unsupported', 'subject_token_type is not supported');
  }

  const actorToken = singles.actor_token;
  const actorTokenType = singles.actor_token_type;
  if ((actorToken === undefined) !== (actorTokenType === undefined)) {
    return deny('actor_token_type_mismatch', 'actor_token and actor_token_type must be sent together');
  }
  if (actorTokenType !== undefined && !isAcceptedTokenType(actorTokenType)) {
    return deny('actor_token_type_unsupported', 'actor_token_type is not supported');
  }
  if (actorToken !== undefined && actorToken.length > limits.maxTokenChars) {
    return deny('token_too_large', 'actor_token is too large');
  }

  const requestedTokenType = singles.requested_token_type ?? TOKEN_TYPE.accessToken;
  if (!isIssuedTokenType(requestedTokenType)) {
    return deny('requested_token_type_unsupported', 'requested_token_type is not supported');
  }

  const scopes = singles.scope === undefined ? [] : parseScopeParameter(singles.scope, limits.maxScopes);
  if (isDenial(scopes)) return scopes;

  const resources = readMulti(params, 'resource');
  if (isDenial(resources)) return resources;
  const audiences = readMulti(params, 'audience');
  if (isDenial(audiences)) return audiences;

  const request: ExchangeRequest = {
    subjectToken,
    subjectTokenType,
    resources,
    audiences,
    scopes,
    requestedTokenType,
  };
  return actorToken !== undefined && actorTokenType !== undefined
    ? { ...request, actorToken, actorTokenType }
    : request;
}
