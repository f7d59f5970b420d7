/**
 * Both SDKs learn the broker's endpoints from its metadata. A metadata document (or whoever answers for
 * the issuer, e.g. through a misrouted proxy or a poisoned cache) that points an endpoint at another origin
 * would send agent credentials, user tokens or key lookups elsewhere. RFC 8414 §3.3 binds the document to
 * the issuer; the SDKs additionally require every endpoint they use to share the issuer's origin.
 */

/** Metadata members naming endpoints: `*_endpoint` and `jwks_uri`. */
export function isEndpointMember(name: string): boolean {
  return name.endsWith('_endpoint') || name === 'jwks_uri';
}

/** Why `value` (a metadata member) is not an endpoint at the issuer's origin, or undefined if it is. */
export function endpointOriginProblem(issuer: string, name: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return `broker metadata: ${name} is not a URL`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `broker metadata: ${name} is not a URL`;
  }
  const origin = new URL(issuer).origin;
  if (url.origin !== origin || url.username !== '' || url.password !== '') {
    return `broker metadata: ${name} (${url.origin}) is outside the issuer's origin ${origin}; refusing to use it`;
  }
  return undefined;
}

/** Throws unless every endpoint member of `metadata` is at the issuer's origin. */
export function assertEndpointsAtIssuer(issuer: string, metadata: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(metadata)) {
    if (!isEndpointMember(name) || value === undefined) continue;
    const problem = endpointOriginProblem(issuer, name, value);
    if (problem !== undefined) throw new Error(problem);
  }
}
