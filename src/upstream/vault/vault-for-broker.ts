/**
 * The vault as a running broker has it (issue 17): built at start when the catalog has tools with
 * `connector: vault`, over the shared state's store, with the vault key from the keys directory or the
 * environment (generated only in development) and the console's person sign-in for the consent flow.
 * A vault that cannot be built stops the start with the reason: the operator fixes the key or the client
 * credentials (anything else would leave the tool's users with a consent flow that cannot work).
 */
import type { AdminActionRecord } from '../../admin/admin-record.js';
import { ConfigError } from '../../config/config-error.js';
import type { BrokerConfig } from '../../domain/broker-config.js';
import type { Catalog } from '../../domain/catalog.js';
import type { Logger } from '../../log.js';
import type { SignIn } from '../../sign-in/index.js';
import type { SharedState } from '../../state/shared-state.js';
import { personSignInFrom } from '../connect/console-sign-in.js';
import type { PersonSignIn } from '../connect/signed-in-person.js';
import { createVaultFeature, vaultStoreFor } from './vault-feature.js';
import { loadVaultKeys } from './vault-keys.js';
import { vaultToolsOf } from './vault-tools.js';

export interface VaultForBrokerOptions {
  readonly config: BrokerConfig;
  readonly catalog: Catalog;
  readonly state: SharedState;
  readonly log: Logger;
  readonly record: (record: AdminActionRecord) => Promise<void>;
  /** The console's sign-in, once the broker is built (undefined without `sign_in`). */
  readonly signIn: () => SignIn | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

/** A person sign-in read at request time: the broker's sign-in exists only after createBroker. */
function lateSignIn(signIn: () => SignIn | undefined): PersonSignIn {
  return {
    current: async (ctx) => {
      const current = signIn();
      return current ? personSignInFrom(current).current(ctx) : undefined;
    },
    signInUrl: (returnTo) => personSignInFrom({ sessionOf: () => Promise.resolve(undefined) }).signInUrl(returnTo),
  };
}

export async function vaultFeatureFor(opts: VaultForBrokerOptions): Promise<ReturnType<typeof createVaultFeature> | undefined> {
  const env = opts.env ?? process.env;
  const development = opts.config.mode === 'development';
  let tools;
  let ring;
  try {
    tools = await vaultToolsOf(opts.catalog, opts.config.keysDir, env, opts.config.upstreamTimeoutMs);
    if (tools.length === 0) return undefined;
    ring = loadVaultKeys({ keysDir: opts.config.keysDir, env, generate: development });
  } catch (err) {
    throw new ConfigError([{ file: opts.config.catalogDir, path: 'upstream', message: `the vault cannot start: ${err instanceof Error ? err.message : String(err)}` }]);
  }
  if (!opts.config.signIn) {
    opts.log.warn({ tools: tools.map((t) => t.tool) }, 'vault tools need `sign_in` for the consent flow; users cannot connect until it is configured');
  }
  const keys = ring;
  return createVaultFeature({
    brokerIssuer: opts.config.issuer, tools, keys: () => keys, store: vaultStoreFor(opts.state),
    signIn: lateSignIn(opts.signIn), log: opts.log, record: opts.record,
    ...(development ? { allowInsecureLoopback: true } : {}),
  });
}
