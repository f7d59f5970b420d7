/**
 * `dev_identity_provider`: the built-in identity provider of development mode (never in production: see
 * the safety rules). Its port, with BROKER_DEV_IDP_PORT, is resolved in ../settings.ts.
 */
import { z } from 'zod';
import { portSchema } from '../urls.js';
import { defineSection } from './section.js';

export const DEFAULT_DEV_IDP_PORT = 9401;

export const devIdentityProviderSection = defineSection({
  name: 'dev-identity-provider',
  shape: { dev_identity_provider: z.strictObject({ port: portSchema }).optional() },
  assemble: (_f, { settings }) => (settings.devIdpPort ? { devIdentityProvider: { port: settings.devIdpPort.value } } : {}),
});
