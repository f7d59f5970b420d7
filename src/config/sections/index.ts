/**
 * The section registry: every top-level key of broker.yaml belongs to exactly one section, and the file is
 * validated against the union of their schemas (one pass, so every problem is reported at once).
 *
 * HOW TO ADD A SECTION (e.g. `guardrails:`):
 *   1. Write `src/config/sections/guardrails.ts`: `export const guardrailsSection = defineSection({ name,
 *      shape: { guardrails: z.strictObject({...}).optional() }, assemble(fields, ctx) { return { guardrails: ... } } })`.
 *      `assemble` turns the parsed snake_case fields into the camelCase part of `BrokerConfig`; a problem
 *      that needs only this section's fields goes to `ctx.report(path, message)`.
 *   2. Add one line to `SECTIONS` below (problems are reported in registry order, then key order).
 *   3. Add the (optional) field to `BrokerConfig` in src/domain/broker-config.ts.
 * Optional extras: an environment variable is one row of `ENVIRONMENT_OVERLAY` (../env-overlay.ts); a rule
 * across sections or about the mode is one entry of `SAFETY_RULES` (../safety-rules.ts). Nothing else changes:
 * the shape, the unknown-key check ("did you mean ...") and the assembly follow from this list.
 */
import type { ConfigSection } from './section.js';
import type { ParsedFields, Shape } from '../validate.js';
import { serverSection } from './server.js';
import { attributionSection } from './attribution.js';
import { exchangeSection } from './exchange.js';
import { loggingSection } from './logging.js';
import { trustedIssuersSection } from './trusted-issuers.js';
import { devIdentityProviderSection } from './dev-identity-provider.js';
import { redisSection } from './redis.js';
import { callerKeysSection } from './caller-keys.js';
import { secretChecksSection } from './secret-checks.js';
import { rateLimitsSection } from './rate-limits.js';
import { revocationSection } from './revocation.js';
import { killSwitchSection } from './kill-switch.js';
import { observabilitySection } from './observability.js';
import { signInSection } from './sign-in.js';
import { approvalsSection } from './approvals.js';

export const SECTIONS = [
  serverSection,
  attributionSection,
  exchangeSection,
  loggingSection,
  trustedIssuersSection,
  devIdentityProviderSection,
  redisSection,
  callerKeysSection,
  secretChecksSection,
  rateLimitsSection,
  revocationSection,
  killSwitchSection,
  observabilitySection,
  signInSection,
  approvalsSection,
] as const;

type UnionToIntersection<U> = (U extends unknown ? (k: U) => void : never) extends (k: infer I) => void ? I : never;
type ShapeOf<T> = T extends ConfigSection<infer S> ? S : never;

/** Every top-level key of broker.yaml with its schema. */
export type BrokerFileShape = UnionToIntersection<ShapeOf<(typeof SECTIONS)[number]>>;
/** broker.yaml as parsed: each key that validated, absent otherwise. */
export type BrokerFields = ParsedFields<BrokerFileShape>;

function mergeShapes(sections: readonly ConfigSection<Shape>[]): Shape {
  const merged: Shape = {};
  for (const section of sections) {
    for (const [key, schema] of Object.entries(section.shape)) {
      // A programming error, caught by any test that loads a configuration.
      if (Object.hasOwn(merged, key)) throw new Error(`configuration key "${key}" is claimed by two sections (${section.name})`);
      merged[key] = schema;
    }
  }
  return merged;
}

export const BROKER_FILE_SHAPE = mergeShapes(SECTIONS) as BrokerFileShape;
