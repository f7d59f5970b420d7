/**
 * `mode`, `issuer`, `host`, `port` and the directories (`catalog_dir`, `clients_dir`, `keys_dir`): who the
 * broker is and where it reads its files. The values with their defaults and environment overrides are
 * resolved in ../settings.ts (other sections and the safety rules need them); this section validates the
 * keys and hands the resolved values to the configuration.
 */
import { z } from 'zod';
import { nonEmptyString } from '../validate.js';
import { brokerIssuerProblem, portSchema, urlSchema } from '../urls.js';
import { defineSection } from './section.js';

export const MODES = ['development', 'production'] as const;

export const serverSection = defineSection({
  name: 'server',
  shape: {
    mode: z.enum(MODES),
    issuer: urlSchema(brokerIssuerProblem).optional(),
    host: nonEmptyString.optional(),
    port: portSchema.optional(),
    catalog_dir: nonEmptyString.optional(),
    clients_dir: nonEmptyString.optional(),
    keys_dir: nonEmptyString.optional(),
  },
  assemble(_fields, { settings }) {
    const { mode, issuer, host, port, catalogDir, clientsDir, keysDir } = settings;
    if (mode === undefined || issuer === undefined || catalogDir === undefined || clientsDir === undefined || keysDir === undefined) return undefined;
    return { mode, issuer: issuer.value, host: host.value, port: port.value, catalogDir, clientsDir, keysDir };
  },
});
