/**
 * The one place oidc-provider is imported (lint enforces it). ES modules evaluate their imports in order,
 * so the filter below is active while oidc-provider's top level runs and is removed right after.
 */
import { restoreConsoleWarn } from './runtime-advisory-filter.js';
import Provider, { errors } from 'oidc-provider';
// The request scope oidc-provider already opens for each request of its routes: reading it costs nothing,
// where a second AsyncLocalStorage would add its propagation to every promise of every token request.
import requestStore from 'oidc-provider/lib/helpers/als.js';

restoreConsoleWarn();

export { Provider, errors, requestStore };
export type {
  Configuration,
  KoaContextWithOIDC,
  TokenEndpointGrantContext,
  ClientMetadata,
  AdapterPayload,
  ErrorOut,
} from 'oidc-provider';
