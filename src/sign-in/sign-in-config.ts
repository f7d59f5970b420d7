/**
 * The `sign_in:` section of broker.yaml: which identity provider people sign in with (console, `/connect`).
 *   sign_in:
 *     issuer: https://login.example.com        # OIDC discovery at <issuer>/.well-known/openid-configuration
 *     client_id: agent-token-broker-console
 *     client_secret_env: BROKER_SIGN_IN_SECRET # or client_secret_file; absent = public client (PKCE only)
 *     roles_claim: broker_roles                # ID token claim with viewer / operator / approver
 *     session_ttl: 8h                          # absolute lifetime of a console session
 *     idle_timeout: 30m                        # a session unused this long ends (default 30m)
 * The redirect URI to register at the identity provider is `<broker issuer>/signin/callback`.
 * A literal secret is refused: secrets are named by reference.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { SecretReference } from '../domain/broker-config.js';

export interface SignInSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: SecretReference;
  readonly rolesClaim: string;
  readonly sessionSeconds: number;
  /** Absent: the sign-in's default (30 minutes). */
  readonly idleSeconds?: number;
}

export const DEFAULT_ROLES_CLAIM = 'roles';
const DEFAULT_SESSION_SECONDS = 8 * 3600;

const duration = z.string().regex(/^\d{1,6}(s|m|h)$/u, 'a duration such as 30m or 8h');

export const signInSchema = z.strictObject({
  issuer: z.url({ protocol: /^https?$/u }),
  client_id: z.string().min(1).max(256),
  client_secret: z.never({ error: 'must not be written in the configuration; use client_secret_env or client_secret_file' }).optional(),
  client_secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/u).optional(),
  client_secret_file: z.string().min(1).optional(),
  roles_claim: z.string().min(1).max(128).optional(),
  session_ttl: duration.optional(),
  idle_timeout: duration.optional(),
}).refine((v) => !(v.client_secret_env !== undefined && v.client_secret_file !== undefined), 'client_secret_env or client_secret_file, not both');

function seconds(value: string): number {
  const n = Number(value.slice(0, -1));
  const unit = value.at(-1);
  return unit === 'h' ? n * 3600 : unit === 'm' ? n * 60 : n;
}

export function signInFrom(raw: z.infer<typeof signInSchema> | undefined, baseDir: string): { signIn?: SignInSettings } {
  if (!raw) return {};
  const secret: SecretReference | undefined = raw.client_secret_env !== undefined
    ? { env: raw.client_secret_env }
    : raw.client_secret_file !== undefined ? { file: path.resolve(baseDir, raw.client_secret_file) } : undefined;
  return {
    signIn: {
      issuer: raw.issuer.replace(/\/$/u, ''),
      clientId: raw.client_id,
      ...(secret ? { clientSecret: secret } : {}),
      rolesClaim: raw.roles_claim ?? DEFAULT_ROLES_CLAIM,
      sessionSeconds: raw.session_ttl === undefined ? DEFAULT_SESSION_SECONDS : Math.max(300, seconds(raw.session_ttl)),
      // At least a minute: shorter would end sessions between two clicks.
      ...(raw.idle_timeout !== undefined ? { idleSeconds: Math.max(60, seconds(raw.idle_timeout)) } : {}),
    },
  };
}

/** The client secret's value, read at start (never logged). */
export async function readSignInSecret(ref: SecretReference | undefined, env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new Error(`sign_in: environment variable ${ref.env} is not set`);
    return value;
  }
  return (await readFile(ref.file, 'utf8')).trim();
}
