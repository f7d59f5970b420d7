/** `sign_in:` (issue 19): the identity provider people sign in with (console, `/connect`); see src/sign-in/sign-in-config.ts. */
import { signInFrom, signInSchema } from '../../sign-in/sign-in-config.js';
import { defineSection } from './section.js';

export const signInSection = defineSection({
  name: 'sign-in',
  shape: { sign_in: signInSchema.optional() },
  assemble: ({ sign_in: signIn }, ctx) => signInFrom(signIn, ctx.baseDir),
});
