/**
 * `approvals:` (issue 18): the broker-wide settings of the human-approval gate. What needs approval and who
 * decides stay in the catalog (`scopes/<tool>.yaml`); these are the defaults and the plumbing:
 *   approvals:
 *     poll_interval: 5s              # CIBA Core §7.3 `interval` given to polling agents (1 s .. 60 s)
 *     default_lifetime: 10m          # lapse of a request whose tool sets no `approval.expires_in` (<= 1 day)
 *     webhook_url: https://hooks.example.internal/approvals   # for tools that name no `approval.notify_url`
 *     webhook_secret_env: BROKER_APPROVAL_WEBHOOK_SECRET      # the HMAC secret: an environment variable's NAME
 *     webhook_timeout: 5s            # per notification (100 ms .. 30 s); a slow receiver -> `notify_failed`
 * The secret itself is never in a file: only the name of the variable that holds it (the default name above).
 */
import { z } from 'zod';
import { MAX_APPROVAL_LAPSE_SECONDS } from '../catalog-approvals.js';
import { durationMillis, durationSeconds } from '../validate.js';
import { defineSection } from './section.js';

export const DEFAULT_APPROVAL_WEBHOOK_SECRET_ENV = 'BROKER_APPROVAL_WEBHOOK_SECRET';

const webhookUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    // Plain http only to this machine (development receivers): approval links must not cross a network in clear.
    return url.protocol === 'https:' || (url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost'));
  } catch {
    return false;
  }
}, { message: 'must be an https URL (http only for localhost)' });

const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/u;

export const approvalsSection = defineSection({
  name: 'approvals',
  shape: {
    approvals: z.strictObject({
      poll_interval: durationSeconds({ max: 60 }).optional(),
      default_lifetime: durationSeconds({ max: MAX_APPROVAL_LAPSE_SECONDS }).optional(),
      webhook_url: webhookUrl.optional(),
      webhook_secret_env: z.string().regex(ENV_NAME, { message: 'must be the name of an environment variable (A-Z, 0-9, _), not the secret' }).optional(),
      webhook_timeout: durationMillis({ min: 100, max: 30_000 }).optional(),
    }).optional(),
  },
  assemble({ approvals: raw }, ctx) {
    if (raw === undefined) return {};
    const secretEnv = raw.webhook_secret_env ?? DEFAULT_APPROVAL_WEBHOOK_SECRET_ENV;
    // A webhook that cannot be signed is no webhook: say so before the broker starts, not at the first approval.
    if (raw.webhook_url !== undefined && (ctx.env[secretEnv] ?? '') === '') {
      ctx.report(['approvals', raw.webhook_secret_env !== undefined ? 'webhook_secret_env' : 'webhook_url'], `the environment variable ${secretEnv} (the webhook's HMAC secret) is not set`);
      return undefined;
    }
    return {
      approvals: {
        ...(raw.poll_interval !== undefined ? { pollIntervalSeconds: raw.poll_interval } : {}),
        ...(raw.default_lifetime !== undefined ? { defaultLifetimeSeconds: raw.default_lifetime } : {}),
        ...(raw.webhook_url !== undefined ? { webhookUrl: raw.webhook_url } : {}),
        webhookSecretEnv: secretEnv,
        ...(raw.webhook_timeout !== undefined ? { webhookTimeoutMs: raw.webhook_timeout } : {}),
      },
    };
  },
});
