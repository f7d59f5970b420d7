/** RFC 9396 authorization_details for the guardrails (issue 18): parse, validate against the catalog, canonicalise. */
export { argumentsDigest, DIGEST_PATTERN } from './arguments-digest.js';
export { amountToMinor, currencyExponent, isCurrencyCode, minorToAmount } from './currency.js';
export {
  detailsDigest, parseAuthorizationDetails, readAuthorizationDetails,
  MAX_AUTHORIZATION_DETAILS_CHARS, MAX_AUTHORIZATION_DETAILS_ENTRIES, RESERVED_DETAIL_MEMBERS,
  type CanonicalDetail, type CanonicalDetailValue, type ParsedAuthorizationDetails,
} from './parse-authorization-details.js';
