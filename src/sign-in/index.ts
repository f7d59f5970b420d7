/** Person sign-in (OIDC authorization code + PKCE) for the console and other browser-facing features. */
export { createSignIn, SIGN_IN_PATHS, type RoleRefusal, type SignIn, type SignInOptions, type SignInProvider } from './sign-in.js';
export { MemorySessionStore, RedisSessionStore, type SessionStore } from './session-store.js';
export { actorOf, type PersonSession } from './person-session.js';
export { PERSON_ROLES, hasRole, rolesFromClaims, type PersonRole } from './roles.js';
export { SESSION_COOKIE, LOGIN_COOKIE } from './cookies.js';
