/** The `sign_in:` section's session lifetimes: absolute (`session_ttl`) and idle (`idle_timeout`). */
import { describe, expect, it } from 'vitest';
import { signInFrom, signInSchema } from '../../src/sign-in/sign-in-config.js';

const base = { issuer: 'https://login.example.com', client_id: 'console' };

describe('sign_in lifetimes', () => {
  it('reads idle_timeout as seconds, at least a minute, and leaves the default to the sign-in when absent', () => {
    expect(signInFrom(signInSchema.parse({ ...base, idle_timeout: '45m' }), '/').signIn?.idleSeconds).toBe(2700);
    expect(signInFrom(signInSchema.parse({ ...base, idle_timeout: '10s' }), '/').signIn?.idleSeconds).toBe(60);
    expect(signInFrom(signInSchema.parse(base), '/').signIn).not.toHaveProperty('idleSeconds');
  });

  it('refuses an idle_timeout that is not a duration', () => {
    const parsed = signInSchema.safeParse({ ...base, idle_timeout: 'half an hour' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['idle_timeout']);
  });
});
