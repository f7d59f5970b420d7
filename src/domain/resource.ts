/**
 * RFC 8707 resource identifiers: absolute URIs without a fragment. Tools are registered and looked up
 * by a canonical form, so `HTTPS://CRM.Example.com:443/api/` and `https://crm.example.com/api` name the
 * same tool; minted tokens always carry the registered value, never the caller's spelling.
 */

/** Canonical form of a resource identifier, or undefined if it is not an acceptable one. */
export function canonicalResource(value: string): string | undefined {
  if (value.length === 0 || value.length > 2048 || value.trim() !== value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  // An RFC 8707 resource must not carry a fragment; credentials in it are never legitimate.
  if (value.includes('#') || url.username !== '' || url.password !== '') return undefined;
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    // WHATWG URL already lower-cases scheme and host and drops the default port.
    const path = url.pathname.replace(/\/+$/u, '');
    return `${url.protocol}//${url.host}${path}${url.search}`;
  }
  // Other absolute URIs (e.g. urn:): the scheme is case-insensitive, the rest is compared as written.
  const colon = value.indexOf(':');
  return `${value.slice(0, colon).toLowerCase()}${value.slice(colon)}`;
}
