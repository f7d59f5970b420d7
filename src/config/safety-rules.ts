/**
 * Stage 4: the rules over the resolved settings that no single field's schema can express. Each rule is
 * named, says why it exists, and returns its problems (pure, over plain data). They run in this order,
 * after every field and environment problem, and all of them run: the operator sees every problem at once.
 * A development broker must never face a network, and development-only machinery never runs in production.
 */
import type { ConfigProblem } from './config-error.js';
import { ENVIRONMENT_SOURCE, envValue } from './env-overlay.js';
import type { Settings } from './settings.js';
import { isLoopbackBindHost, isLoopbackUrl, parseUrl } from './urls.js';

export interface SafetyRule {
  readonly name: string;
  check(settings: Settings): readonly ConfigProblem[];
}

const problem = (file: string, path: string, message: string): ConfigProblem => ({ file, path, message });

export const SAFETY_RULES: readonly SafetyRule[] = [
  {
    name: 'no development mode under NODE_ENV=production',
    check: (s) => (s.mode === 'development' && envValue(s.env, 'NODE_ENV') === 'production'
      ? [problem(s.source, 'mode', 'development mode is refused under NODE_ENV=production')]
      : []),
  },
  {
    name: 'no development identity provider in production',
    check: (s) => {
      if (s.mode !== 'production') return [];
      const why = 'the development identity provider can never run in production;';
      return [
        ...(s.has('dev_identity_provider') ? [problem(s.source, 'dev_identity_provider', `${why} remove this key (mode is production)`)] : []),
        ...(envValue(s.env, 'BROKER_DEV_IDP_PORT') !== undefined ? [problem(ENVIRONMENT_SOURCE, 'BROKER_DEV_IDP_PORT', `${why} unset this variable (mode is production)`)] : []),
      ];
    },
  },
  {
    name: 'the development identity provider has a port of its own',
    check: ({ devIdpPort, port }) => (devIdpPort && devIdpPort.value === port.value
      ? [problem(devIdpPort.file, devIdpPort.path, `must differ from the broker's port (${port.value})`)]
      : []),
  },
  {
    name: 'development binds to loopback',
    check: ({ mode, host }) => (mode === 'development' && !isLoopbackBindHost(host.value)
      ? [problem(host.file, host.path, `development mode must bind to a loopback address (localhost, 127.0.0.1 or ::1) so a development broker never faces a network; got "${host.value}"`)]
      : []),
  },
  {
    name: 'development has a loopback issuer',
    check: ({ mode, issuer }) => {
      const url = mode === 'development' && issuer ? parseUrl(issuer.value) : undefined;
      return issuer && url && !isLoopbackUrl(url)
        ? [problem(issuer.file, issuer.path, `development mode requires a loopback issuer (localhost, 127.0.0.1 or [::1]) so a development broker never faces a network; got host "${url.hostname}"`)]
        : [];
    },
  },
  {
    name: 'production names its issuer',
    check: (s) => (s.mode === 'production' && !s.issuer && !s.broken('issuer') ? [problem(s.source, 'issuer', 'is required in production mode')] : []),
  },
  {
    name: 'production issuer is https (or loopback)',
    check: ({ mode, issuer }) => {
      const url = mode === 'production' && issuer ? parseUrl(issuer.value) : undefined;
      return issuer && url && url.protocol !== 'https:' && !isLoopbackUrl(url)
        ? [problem(issuer.file, issuer.path, 'production mode requires an https issuer (http is accepted only on a loopback host)')]
        : [];
    },
  },
  {
    name: 'some issuer is trusted',
    check: (s) => {
      const devIdpRequested = s.mode === 'development' && (s.devIdpPort !== undefined || s.has('dev_identity_provider'));
      if (s.mode === undefined || (s.fields.trusted_issuers ?? []).length > 0 || s.broken('trusted_issuers') || devIdpRequested) return [];
      return [problem(s.source, 'trusted_issuers', s.mode === 'development'
        ? 'lists no trusted issuer: list at least one, or enable dev_identity_provider'
        : 'must list at least one trusted issuer in production mode')];
    },
  },
  {
    name: 'a Redis attribution sink has a Redis',
    check: (s) => (s.fields.attribution?.sink === 'redis' && !s.has('redis') && envValue(s.env, 'REDIS_URL') === undefined
      ? [problem(s.source, 'attribution.sink', 'redis needs a `redis` connection (or REDIS_URL)')]
      : []),
  },
  {
    name: 'hashed users have a redaction key',
    check: (s) => (s.fields.attribution?.redact_users === 'hash' && s.fields.attribution.redaction_key_file === undefined
      ? [problem(s.source, 'attribution.redaction_key_file', 'is required when redact_users is hash')]
      : []),
  },
  {
    // One id, one key: the id is who acted (admin records) and who is asking (validator endpoints).
    name: 'caller key ids are unique',
    check: (s) => {
      const seen = new Set<string>();
      const out: ConfigProblem[] = [];
      for (const [field, entries] of [['admin_keys', s.fields.admin_keys ?? []], ['validator_keys', s.fields.validator_keys ?? []]] as const) {
        entries.forEach((entry, index) => {
          if (seen.has(entry.id)) out.push(problem(s.source, `${field}[${index}].id`, `repeats the key id "${entry.id}" (ids are unique across admin_keys and validator_keys)`));
          seen.add(entry.id);
        });
      }
      return out;
    },
  },
];

/** Every rule's problems, in rule order. */
export function checkSafetyRules(settings: Settings, rules: readonly SafetyRule[] = SAFETY_RULES): ConfigProblem[] {
  return rules.flatMap((rule) => rule.check(settings));
}
