/**
 * The person signed in to the broker, as the consent flow needs it. The broker's person sign-in (through
 * the trusted identity provider, OIDC authorization code + PKCE with openid-client, and a session cookie)
 * is the console's (branch `console`); the vault does not sign people in itself. This is the minimal
 * interface it takes: the lead wires the console's sign-in into it.
 */
import type { Context } from 'koa';

export interface SignedInPerson {
  /** The person's `sub` at the trusted identity provider (the `sub` of the broker tokens minted for them). */
  readonly sub: string;
}

export interface PersonSignIn {
  /** The signed-in person of this request, or undefined. */
  current(ctx: Context): Promise<SignedInPerson | undefined>;
  /** Where to send a person who is not signed in; they come back to `returnTo` (a path on the broker). */
  signInUrl(returnTo: string): string;
}
