/**
 * `broker vault-key add [--activate] | activate <kid> | retire <kid>`: the vault key file
 * (`<keys_dir>/vault-keys.json`, mode 0600). Prints key ids only, never key material.
 * Rotation with several replicas: add (deploy: every replica can open what the new key seals), activate
 * (deploy: new writes use it), `broker vault-reencrypt` (the rest is re-sealed), retire the old key.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { activateVaultKey, addVaultKey, retireVaultKey, VAULT_KEYS_FILE, VaultKeysError } from './vault-keys.js';

export function registerVaultKeyCommands(program: Command, keysDirOf: (opts: { keysDir?: string }) => string, out: (line: string) => void): void {
  const group = program.command('vault-key').description('the vault\'s encryption keys for stored SaaS connections (README: "Calling SaaS on the user\'s behalf")');
  const run = (fn: () => string): void => {
    try {
      out(fn());
    } catch (err) {
      if (!(err instanceof VaultKeysError)) throw err;
      out(`vault-key: ${err.message}`);
      process.exitCode = 1;
    }
  };
  group.command('add').description('add a new random key (mode 0600); with --activate new writes use it at the next start')
    .option('--keys-dir <dir>', 'the keys directory (default $BROKER_KEYS_DIR, else ./keys)')
    .option('--activate', 'make it the active key now (single replica, or the first key)')
    .action((opts: { keysDir?: string; activate?: boolean }) => {
      run(() => {
        const kid = addVaultKey(join(keysDirOf(opts), VAULT_KEYS_FILE), { activate: opts.activate === true, nowMs: Date.now() });
        return `added vault key ${kid}${opts.activate ? ' (active)' : ' (not active yet: deploy, then `broker vault-key activate ' + kid + '`)'}`;
      });
    });
  group.command('activate').description('new writes use this key from the next start of each replica').argument('<kid>')
    .option('--keys-dir <dir>', 'the keys directory (default $BROKER_KEYS_DIR, else ./keys)')
    .action((kid: string, opts: { keysDir?: string }) => { run(() => { activateVaultKey(join(keysDirOf(opts), VAULT_KEYS_FILE), kid); return `vault key ${kid} is active`; }); });
  group.command('retire').description('remove a key no entry uses any more (after `broker vault-reencrypt` reported 0 unreadable)').argument('<kid>')
    .option('--keys-dir <dir>', 'the keys directory (default $BROKER_KEYS_DIR, else ./keys)')
    .action((kid: string, opts: { keysDir?: string }) => { run(() => { retireVaultKey(join(keysDirOf(opts), VAULT_KEYS_FILE), kid); return `vault key ${kid} removed`; }); });
}
