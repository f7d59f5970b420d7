/**
 * A tool's `upstream:` in its catalog file: the SaaS authorization server it fronts, the broker's client
 * there, how the user is named there, which SaaS scopes each catalog scope maps to, and the connector kind.
 * Plain data after validation; the schema lives here so the catalog loader stays a thin additive edit.
 */
import { z } from 'zod';
import { canonicalResource } from '../domain/resource.js';
import { mappingOf, nonEmptyString, scopeToken, scopeTokenProblem, uniqueList } from '../config/validate.js';

export const CONNECTOR_KINDS = ['token_exchange', 'jwt_bearer', 'vault'] as const;
export type ConnectorKind = (typeof CONNECTOR_KINDS)[number];

/** Where the SaaS authorization server is: its issuer (RFC 8414 / OIDC discovery) or explicit endpoints. */
export type UpstreamServer =
  | { readonly issuer: string }
  | { readonly issuer?: string; readonly tokenEndpoint: string; readonly authorizationEndpoint?: string; readonly revocationEndpoint?: string };

/** The broker's client at the SaaS: never an inline secret. */
export type UpstreamClientAuth =
  /** `keyFile`: a private JWK file name in the broker's keys directory. */
  | { readonly method: 'private_key_jwt'; readonly keyFile: string }
  /** `secretEnv`: the name of the environment variable holding the secret. */
  | { readonly method: 'client_secret_basic'; readonly secretEnv: string };

export interface ToolUpstream {
  /** The identifier the tool asks for (RFC 8707 `resource`/`audience` of the onward exchange), canonical. */
  readonly resource: string;
  readonly server: UpstreamServer;
  readonly clientId: string;
  readonly clientAuth: UpstreamClientAuth;
  /** The claim of the broker token (the user's) that names the user at the SaaS: `sub`, `email`, `upn`... */
  readonly subjectClaim: string;
  /** Catalog scope -> SaaS scopes. A catalog scope not listed maps to nothing upstream. */
  readonly scopes: ReadonlyMap<string, readonly string[]>;
  readonly connector: ConnectorKind;
  /** Whether the agent itself may receive the SaaS credential: false (the default) = the tool identity only. */
  readonly deliverToAgent: boolean;
  /** The `aud` of the assertions the broker signs for this SaaS (default: its issuer, else its token endpoint). */
  readonly assertionAudience: string;
}

const KEY_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/u;
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/u;
const CLAIM = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/u;

/** http only on loopback (development and tests); https everywhere else. */
const endpointUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
    return;
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) ctx.addIssue({ code: 'custom', message: 'must use https (plain http only on a loopback address)' });
  if (url.hash !== '' || url.username !== '' || url.password !== '') ctx.addIssue({ code: 'custom', message: 'must not carry a fragment or credentials' });
});

const serverSchema = z.strictObject({
  issuer: endpointUrl.optional(),
  token_endpoint: endpointUrl.optional(),
  authorization_endpoint: endpointUrl.optional(),
  revocation_endpoint: endpointUrl.optional(),
}).refine((s) => s.issuer !== undefined || s.token_endpoint !== undefined, { error: 'must give issuer (discovery) or token_endpoint' });

const INLINE_SECRET = 'an inline secret is never accepted: put it in an environment variable and name it in secret_env';
const inlineGuard = z.unknown().superRefine((v, ctx) => { if (v !== undefined) ctx.addIssue({ code: 'custom', message: INLINE_SECRET }); }).optional();

const clientSchema = z.discriminatedUnion('auth', [
  z.strictObject({
    client_id: nonEmptyString,
    auth: z.literal('private_key_jwt'),
    key_file: z.string().regex(KEY_FILE, { error: 'must be a file name in the keys directory (no path)' }),
    secret: inlineGuard,
    client_secret: inlineGuard,
  }),
  z.strictObject({
    client_id: nonEmptyString,
    auth: z.literal('client_secret_basic'),
    secret_env: z.string().regex(ENV_NAME, { error: 'must be the NAME of an environment variable (A-Z, 0-9, _)' }),
    secret: inlineGuard,
    client_secret: inlineGuard,
  }),
], { error: 'auth must be private_key_jwt (with key_file) or client_secret_basic (with secret_env)' });

const resourceSchema = z.string().transform((value, ctx): string => {
  const canonical = canonicalResource(value);
  if (canonical === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URI without a fragment or credentials' });
    return z.NEVER;
  }
  return canonical;
});

export const upstreamSchema = z.strictObject({
  resource: resourceSchema,
  authorization_server: serverSchema,
  client: clientSchema,
  subject_claim: z.string().regex(CLAIM, { error: 'must be a claim name such as sub, email or upn' }).default('sub'),
  scopes: mappingOf(scopeTokenProblem, uniqueList(scopeToken, 'scope').min(1)),
  connector: z.enum(CONNECTOR_KINDS, { error: `must be one of ${CONNECTOR_KINDS.join(', ')}` }),
  // true: the agent itself may perform the onward exchange and receive the SaaS credential (README: the risk).
  deliver_to_agent: z.boolean({ error: 'must be true or false (default false: the credential goes to the tool identity alone)' }).default(false),
  assertion_audience: z.string().min(1).optional(),
});

export type UpstreamFields = z.output<typeof upstreamSchema>;

/** The validated fields as the domain holds them. */
export function toToolUpstream(f: UpstreamFields): ToolUpstream {
  const s = f.authorization_server;
  const server: UpstreamServer = s.token_endpoint !== undefined
    ? { ...(s.issuer ? { issuer: s.issuer } : {}), tokenEndpoint: s.token_endpoint, ...(s.authorization_endpoint ? { authorizationEndpoint: s.authorization_endpoint } : {}), ...(s.revocation_endpoint ? { revocationEndpoint: s.revocation_endpoint } : {}) }
    : { issuer: s.issuer ?? '' };
  return {
    resource: f.resource,
    server,
    clientId: f.client.client_id,
    clientAuth: f.client.auth === 'private_key_jwt' ? { method: 'private_key_jwt', keyFile: f.client.key_file } : { method: 'client_secret_basic', secretEnv: f.client.secret_env },
    subjectClaim: f.subject_claim,
    scopes: new Map(Object.entries(f.scopes)),
    connector: f.connector,
    deliverToAgent: f.deliver_to_agent,
    assertionAudience: f.assertion_audience ?? s.issuer ?? s.token_endpoint ?? '',
  };
}
