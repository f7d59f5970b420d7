/**
 * The one place oidc-provider is imported (lint enforces it). ES modules evaluate their imports in order,
 * so the filter below is active while oidc-provider's top level runs and is removed right after.
 */
import { restoreConsoleWarn } from './runtime-advisory-filter.js';
import Provider, { errors } from 'oidc-provider';

restoreConsoleWarn();

export { Provider, errors };
export type {
  Configuration,
  KoaContextWithOIDC,
  TokenEndpointGrantContext,
  ClientMetadata,
  AdapterPayload,
  ErrorOut,
} from 'oidc-provider';
