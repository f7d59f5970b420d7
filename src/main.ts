/**
 * `npm start`: runs the broker. With no configuration this is the embedded development default: sample
 * catalog and agent, dev keys generated on first run, state in memory, the development identity provider.
 */
import { loadEverything } from './config/load-all.js';
import { ConfigError } from './config/config-error.js';
import { firstExchangeInstructions } from './dev/first-exchange-instructions.js';
import { DEMO_USERS } from './dev/demo-users.js';
import { createLogger } from './log.js';
import { startBroker } from './server/start-broker.js';
import { StateOwnedByAnotherIssuerError } from './state/state-owner.js';

async function main(): Promise<void> {
  let loaded;
  try {
    loaded = await loadEverything({ env: process.env, cwd: process.cwd(), keys: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration is invalid:\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(loaded.config.logLevel);
  if (process.env.REDIS_URL !== undefined && (process.env.BROKER_CONFIG ?? '') === '') {
    log.warn('REDIS_URL is ignored: the embedded development default keeps its state in memory');
  }
  let running;
  try {
    running = await startBroker(loaded, log);
  } catch (err) {
    // Problems an operator fixes (keys, a Redis prefix owned by another issuer): one message, exit 1.
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration is invalid:\n${err.message}\n`);
      process.exit(1);
    }
    if (err instanceof StateOwnedByAnotherIssuerError) {
      process.stderr.write(`refusing to start: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  log.info({
    issuer: running.issuer,
    mode: loaded.config.mode,
    tools: [...loaded.catalog.tools.keys()],
    agents: [...loaded.agents.agents.keys()],
    dev_identity_provider: running.devIdentityProvider?.issuer,
    sample_tool: running.sampleTool?.url,
    signing_key_generated: running.keysGenerated,
  }, 'broker listening');
  if (loaded.config.mode === 'development') {
    process.stdout.write(firstExchangeInstructions({
      issuer: running.issuer,
      catalog: loaded.catalog,
      ...(running.sampleTool ? { sampleTool: running.sampleTool } : {}),
      ...(running.upstreamSamples ? { upstreamSamples: running.upstreamSamples } : {}),
      ...(running.adminKeyFile ? { adminKeyFile: running.adminKeyFile } : {}),
      // The console signs people in at the development identity provider: its demo users (issue 19).
      ...(running.devIdentityProvider ? { console: { users: DEMO_USERS.flatMap((u) => (u.password === undefined ? [] : [{ username: u.username, password: u.password, roles: u.roles ?? [] }])) } } : {}),
    }));
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    running.stop().then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  // Issue 19 §3: SIGHUP reloads scopes/ and clients/ (a refused reload keeps the set in force; reload/reloader.ts).
  process.on('SIGHUP', () => { if (!stopping) void running.reload('SIGHUP'); });
  process.on('SIGINT', () => { stop('SIGINT'); });
  process.on('SIGTERM', () => { stop('SIGTERM'); });
}

await main();
