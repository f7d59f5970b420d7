/**
 * RFC 9396 `authorization_details` on the token exchange (issue 18): the agent describes the exact action it
 * is about to take. Parsed strictly, validated against the tool's declared action types (catalog
 * `action_types`), and canonicalised, so an approval, a budget and the minted token all bind the same bytes.
 *
 * One entry, as sent (RFC 9396 §2: a JSON array of objects, each with `type`):
 *   { "type": "payment", "actions": ["create_payment"], "arguments_sha256": "<b64url SHA-256>",
 *     "locations": ["https://payments.example.internal/api"], "amount": "1500.00", "currency": "EUR", "payee": "ACME" }
 * Product rules: `actions` names exactly one of the type's actions; `arguments_sha256` is required (an approval
 * binds the call's arguments); `locations`, if sent, is exactly the tool's resource (RFC 9396 §2.2); every
 * other member is a field the action type declares (no unknown members: nothing unapproved can ride along).
 * Pure: no I/O, no clock. Descriptions never echo a value.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../attribution/canonical-json.js';
import type { ActionDetail } from '../../domain/authorization-details.js';
import type { ActionType, Tool } from '../../domain/catalog.js';
import { isPlainObject } from '../../exchange/plain-object.js';
import { deny, isDenial, type Denial } from '../../exchange/reasons.js';
import { scanJson } from '../../jwt/json-scan.js';
import { DIGEST_PATTERN } from './arguments-digest.js';
import { amountToMinor, isCurrencyCode, minorToAmount } from './currency.js';

export const MAX_AUTHORIZATION_DETAILS_CHARS = 8192;
export const MAX_AUTHORIZATION_DETAILS_ENTRIES = 8;
const DEFAULT_MAX_STRING = 256;
/** Members every entry may carry; a catalog field may not use these names. */
export const RESERVED_DETAIL_MEMBERS: readonly string[] = ['type', 'actions', 'arguments_sha256', 'locations', 'datatypes', 'identifier', 'privileges'];

export type CanonicalDetailValue = string | number | boolean | readonly string[];
/** One entry in canonical form: what the minted token carries, and what the digest covers. */
export type CanonicalDetail = Readonly<Record<string, CanonicalDetailValue>>;

export interface ParsedAuthorizationDetails {
  readonly details: readonly ActionDetail[];
  readonly canonical: readonly CanonicalDetail[];
  /** base64url SHA-256 of the canonical JSON of `canonical`: binds an approval to exactly these actions. */
  readonly digest: string;
}

const invalid = (description: string): Denial => deny('authorization_details_invalid', description);

/** Reads the parameter's JSON: syntax, duplicates, depth and size, before anything about the tool. */
export function readAuthorizationDetails(raw: string): readonly Readonly<Record<string, unknown>>[] | Denial {
  if (raw.length > MAX_AUTHORIZATION_DETAILS_CHARS) return invalid('authorization_details is too large');
  // Depth 3: the array, its objects, and one array member (`actions`, `locations`).
  const scanned = scanJson(raw, 3);
  if (!scanned.ok) {
    return invalid(scanned.problem === 'duplicate_member' ? 'authorization_details repeats a member name'
      : scanned.problem === 'too_deep' ? 'authorization_details is nested too deeply' : 'authorization_details must be a JSON array');
  }
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed) || parsed.length === 0) return invalid('authorization_details must be a non-empty JSON array');
  if (parsed.length > MAX_AUTHORIZATION_DETAILS_ENTRIES) return invalid(`authorization_details may hold at most ${MAX_AUTHORIZATION_DETAILS_ENTRIES} entries`);
  const entries: Readonly<Record<string, unknown>>[] = [];
  for (const entry of parsed as unknown[]) {
    if (!isPlainObject(entry)) return invalid('each authorization_details entry must be a JSON object');
    entries.push(entry);
  }
  return entries;
}

function stringList(value: unknown): readonly string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value) : undefined;
}

/** One entry against its declared action type: the parsed detail and its canonical form, or why not. */
function validateEntry(entry: Readonly<Record<string, unknown>>, index: number, tool: Tool): { detail: ActionDetail; canonical: CanonicalDetail } | Denial {
  const at = `authorization_details[${index}]`;
  const typeName = entry.type;
  if (typeof typeName !== 'string' || typeName === '') return invalid(`${at}.type is required`);
  const type: ActionType | undefined = tool.actionTypes?.get(typeName);
  if (type === undefined) return invalid(`${at}.type is not an action type of this tool`);

  const actions = stringList(entry.actions);
  if (actions?.length !== 1) return invalid(`${at}.actions must name exactly one action`);
  const action = actions[0] as string;
  if (!type.actions.includes(action)) return invalid(`${at}.actions names an action this type does not declare`);

  const digest = entry.arguments_sha256;
  if (typeof digest !== 'string' || !DIGEST_PATTERN.test(digest)) return invalid(`${at}.arguments_sha256 must be the base64url SHA-256 of the canonical arguments`);

  if (entry.locations !== undefined) {
    const locations = stringList(entry.locations);
    if (locations?.length !== 1 || locations[0] !== tool.resource) return invalid(`${at}.locations must be exactly this tool's resource`);
  }

  for (const member of Object.keys(entry)) {
    if (RESERVED_DETAIL_MEMBERS.includes(member)) {
      if (member === 'datatypes' || member === 'identifier' || member === 'privileges') return invalid(`${at}.${member} is not supported`);
      continue;
    }
    if (!type.fields.has(member)) return invalid(`${at} carries a member its action type does not declare`);
  }

  const canonical: Record<string, CanonicalDetailValue> = { type: typeName, actions: [action], arguments_sha256: digest, locations: [tool.resource] };
  const fields: Record<string, string | number | boolean> = {};
  let currency: string | undefined;
  for (const field of type.fields.values()) {
    if (field.type !== 'currency') continue;
    const value = entry[field.name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !isCurrencyCode(value)) return invalid(`${at}.${field.name} must be an ISO 4217 code in upper case`);
    currency = value;
  }
  let amountMinor: number | undefined;
  for (const field of type.fields.values()) {
    const value = entry[field.name];
    if (value === undefined) {
      if (field.required) return invalid(`${at}.${field.name} is required`);
      continue;
    }
    switch (field.type) {
      case 'string':
        if (typeof value !== 'string' || value.length > (field.maxLength ?? DEFAULT_MAX_STRING)) return invalid(`${at}.${field.name} must be a string of at most ${field.maxLength ?? DEFAULT_MAX_STRING} characters`);
        canonical[field.name] = value;
        fields[field.name] = value;
        break;
      case 'integer':
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) return invalid(`${at}.${field.name} must be an integer`);
        canonical[field.name] = value;
        fields[field.name] = value;
        break;
      case 'boolean':
        if (typeof value !== 'boolean') return invalid(`${at}.${field.name} must be true or false`);
        canonical[field.name] = value;
        fields[field.name] = value;
        break;
      case 'currency':
        canonical[field.name] = value as string;
        break;
      case 'amount': {
        if (currency === undefined) return invalid(`${at}: an amount needs its currency`);
        const minor = typeof value === 'string' ? amountToMinor(value, currency) : undefined;
        if (minor === undefined) return invalid(`${at}.${field.name} must be a decimal string with at most the currency's minor digits`);
        amountMinor = minor;
        // Canonical: "1500.5" and "1500.50" are the same payment, and must bind the same approval.
        canonical[field.name] = minorToAmount(minor, currency);
        break;
      }
    }
  }
  const detail: ActionDetail = {
    type: typeName,
    action,
    argumentsDigest: digest,
    ...(amountMinor !== undefined ? { amountMinor } : {}),
    ...(currency !== undefined ? { currency } : {}),
    ...(Object.keys(fields).length > 0 ? { fields } : {}),
  };
  return { detail, canonical };
}

/** The digest an approval binds: SHA-256 over the canonical JSON of the canonical entries. */
export function detailsDigest(canonical: readonly CanonicalDetail[]): string {
  return createHash('sha256').update(canonicalJson(canonical), 'utf8').digest('base64url');
}

/**
 * The `authorization_details` parameter for `tool`: undefined when absent, the parsed and canonical form, or
 * an `invalid_authorization_details` denial (RFC 9396 §6.2).
 */
export function parseAuthorizationDetails(raw: string | undefined, tool: Tool): ParsedAuthorizationDetails | undefined | Denial {
  if (raw === undefined || raw === '') return undefined;
  const entries = readAuthorizationDetails(raw);
  if (isDenial(entries)) return entries;
  const details: ActionDetail[] = [];
  const canonical: CanonicalDetail[] = [];
  for (const [index, entry] of entries.entries()) {
    const result = validateEntry(entry, index, tool);
    if ('decision' in result) return result;
    details.push(result.detail);
    canonical.push(result.canonical);
  }
  return { details, canonical, digest: detailsDigest(canonical) };
}
