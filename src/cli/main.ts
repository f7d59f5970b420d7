#!/usr/bin/env node
/** The `broker` command line: validate configuration, development helpers. */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { hashClientSecret } from '../provider/client-secret-hash.js';
import { runCheck } from './check-command.js';
import { fetchDevToken } from './dev-token-command.js';

const program = new Command()
  .name('broker')
  .description('OAuth token-exchange broker for AI agents')
  .showHelpAfterError();

program
  .command('check')
  .description('validate the broker configuration, the scope catalog and the agents without starting anything')
  .option('--config <file>', 'broker configuration file (default: $BROKER_CONFIG, else the embedded development default)')
  .option('--catalog <dir>', 'scope catalog directory (overrides the configuration)')
  .option('--clients <dir>', 'agents directory (overrides the configuration)')
  .action(async (opts: { config?: string; catalog?: string; clients?: string }) => {
    process.exitCode = await runCheck({ ...opts, cwd: process.cwd(), env: process.env, out: (line) => { console.log(line); } });
  });

program
  .command('dev-token')
  .description('DEVELOPMENT ONLY: print an access token for a demo user from the development identity provider')
  .requiredOption('--user <name>', 'demo user (alice, bob or carol)')
  .option('--idp <url>', 'development identity provider issuer', process.env.BROKER_DEV_IDP_ISSUER ?? 'http://localhost:9401')
  .action(async (opts: { user: string; idp: string }) => {
    try {
      console.log(await fetchDevToken(opts.idp, opts.user));
    } catch (err) {
      console.error(`dev-token: ${err instanceof Error ? err.message : String(err)} (is the broker running with \`npm start\`?)`);
      process.exitCode = 1;
    }
  });

program
  .command('hash-secret')
  .description('read an agent client secret from standard input and print the hash to put in clients/<agent>.yaml')
  .action(async () => {
    const secret = readFileSync(0, 'utf8').replace(/\r?\n$/u, '');
    if (secret.length < 16) throw new InvalidArgumentError('the secret must be at least 16 characters');
    console.log(await hashClientSecret(secret));
  });

await program.parseAsync(process.argv);
