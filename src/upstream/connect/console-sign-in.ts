/** The broker's person sign-in (src/sign-in/, OIDC code + PKCE through the trusted identity provider) as the consent flow takes it. */
import { SIGN_IN_PATHS, type SignIn } from '../../sign-in/index.js';
import type { PersonSignIn } from './signed-in-person.js';

export function personSignInFrom(signIn: Pick<SignIn, 'sessionOf'>): PersonSignIn {
  return {
    current: async (ctx) => {
      const session = await signIn.sessionOf(ctx);
      return session ? { sub: session.sub } : undefined;
    },
    signInUrl: (returnTo) => `${SIGN_IN_PATHS.login}?return_to=${encodeURIComponent(returnTo)}`,
  };
}
