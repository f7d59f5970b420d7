/**
 * oidc-provider 9 (pinned) runs every request of its routes inside this AsyncLocalStorage scope, whose store
 * is the Koa context (lib/helpers/initialize_app.js, `ensureOIDC`). No public types: declared here.
 */
declare module 'oidc-provider/lib/helpers/als.js' {
  import type { AsyncLocalStorage } from 'node:async_hooks';
  const requestStore: AsyncLocalStorage<unknown>;
  export default requestStore;
}
