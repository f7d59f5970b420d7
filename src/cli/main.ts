#!/usr/bin/env node
/** The `broker` command line: validate configuration, development helpers. */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { hashClientSecret } from '../provider/client-secret-hash.js';
import { runCheck } from './check-command.js';
import { runImpact } from './impact-command.js';
import { registerGuardrailCommands } from './guardrails-command.js';
import { runAuditQuery, runAuditVerify } from './audit-command.js';
import { adminKeyCommand, callAdmin, describeFailure, resolveAdminTarget, type AdminSources } from './admin-command.js';
import { fetchDevToken } from './dev-token-command.js';
import { hashSecrets } from './hash-secret-command.js';
import { runKeysGenerate, runKeysImport, runKeysList, runKeysRotate } from '../keys/key-commands.js';
import { parseDurationMs } from '../config/duration.js';
import { registerVaultKeyCommands } from '../upstream/vault/vault-key-command.js';
import { registerApprovalCommands } from './approvals-command.js';

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
  // Issue 18 what-if: `broker check --impact <old-dir> <new-dir> --log <attribution log>`.
  .option('--impact', 'replay recorded exchanges against two config directories (each with scopes/ and clients/) and list who gains or loses which scopes')
  .option('--log <paths...>', 'with --impact: the attribution log (a file, a directory of rotated files, or files in chain order)')
  .option('--from <iso-time>', 'with --impact: only records at or after this time')
  .argument('[dirs...]', 'with --impact: <old-dir> <new-dir>')
  .action(async (dirs: string[], opts: { config?: string; catalog?: string; clients?: string; impact?: boolean; log?: string[]; from?: string }) => {
    if (opts.impact) {
      const [oldDir, newDir] = dirs;
      if (dirs.length !== 2 || oldDir === undefined || newDir === undefined || !opts.log) throw new InvalidArgumentError('--impact needs <old-dir> <new-dir> and --log <attribution log>');
      process.exitCode = await runImpact({ oldDir, newDir, log: opts.log, ...(opts.from ? { from: opts.from } : {}), cwd: process.cwd(), out: (line) => { console.log(line); } });
      return;
    }
    const { impact: _impact, log: _log, from: _from, ...checkOpts } = opts;
    process.exitCode = await runCheck({ ...checkOpts, cwd: process.cwd(), env: process.env, out: (line) => { console.log(line); } });
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
  .description('read agent client secrets from standard input, one per line, and print one hash per line (for clients/<agent>.yaml)')
  .action(async () => {
    const result = await hashSecrets(readFileSync(0, 'utf8'), hashClientSecret);
    if (!result.ok) throw new InvalidArgumentError(result.message);
    for (const hash of result.hashes) console.log(hash);
  });

interface AdminOptions { url?: string; key?: string; adminKeyFile?: string }

async function runAdmin(opts: AdminOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<void> {
  const sources: AdminSources = { url: opts.url, keyFile: opts.adminKeyFile, argvKey: opts.key };
  let target;
  try {
    target = resolveAdminTarget(sources, process.env, (file) => readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
  const result = await callAdmin(target, method, path, body).catch((err: unknown) => ({
    ok: false, status: 0, body: { error: 'unreachable', error_description: err instanceof Error ? err.message : String(err) },
  }));
  if (result.ok) {
    console.log(JSON.stringify(result.body, null, 2));
  } else {
    console.error(`failed: ${describeFailure(result)}`);
    process.exitCode = 1;
  }
}

const withAdmin = (cmd: Command): Command => cmd
  .option('--url <url>', 'broker base URL, https (plain http only to localhost) (default $BROKER_URL)')
  .option('--admin-key-file <file>', 'read the admin key <id>.<secret> from this file, or - for standard input (default $BROKER_ADMIN_KEY)')
  // Kept only to refuse it with a clear message: a key in argv is visible in `ps`.
  .addOption(new Option('--key <key>').hideHelp());

for (const action of ['suspend', 'reinstate'] as const) {
  withAdmin(program.command(action).description(`${action} an agent identity on every replica`))
    .argument('<what>', 'agent')
    .argument('<client-id>', 'the agent')
    .requiredOption('--reason <text>', 'why (recorded)')
    .option('--override', 'undo what another operator or the kill switch did (recorded as an override)')
    .action(async (what: string, id: string, opts: AdminOptions & { reason: string; override?: boolean }) => {
      if (what !== 'agent') throw new InvalidArgumentError(`only agents can be ${action}ed`);
      await runAdmin(opts, 'POST', `/admin/agents/${encodeURIComponent(id)}/${action}`, { reason: opts.reason, ...(opts.override ? { override: true } : {}) });
    });
}

withAdmin(program.command('revoke').description('revoke an agent identity (and its live tokens), or live tokens by user, tool or jti'))
  .argument('<kind>', 'agent | user | tool | token')
  .argument('<value>', 'client id, user sub, tool id or jti')
  .requiredOption('--reason <text>', 'why (recorded)')
  .action(async (kind: string, value: string, opts: AdminOptions & { reason: string }) => {
    if (kind === 'agent') {
      await runAdmin(opts, 'POST', `/admin/agents/${encodeURIComponent(value)}/revoke`, { reason: opts.reason });
    } else if (kind === 'user' || kind === 'tool' || kind === 'token') {
      await runAdmin(opts, 'POST', '/admin/revocations', { kind, value, reason: opts.reason });
    } else {
      throw new InvalidArgumentError('kind must be agent, user, tool or token');
    }
  });

withAdmin(program.command('revocations').description('list active revocations'))
  .action(async (opts: AdminOptions) => { await runAdmin(opts, 'GET', '/admin/revocations'); });

program
  .command('admin-key')
  .description('create an admin (or validator) key: prints the key (give it to its holder) and the hash (put it in admin_keys / validator_keys)')
  .option('--id <id>', 'who holds this key (recorded with every action)')
  .option('--role <role>', 'viewer (reads) or operator (also acts; default)')
  .option('--validator', 'a validator key (introspection, revocation feed) instead of an admin key')
  .option('--rehash', 'read an existing key from standard input and print the hash form this version checks')
  .action(async (opts: { id?: string; role?: string; validator?: boolean; rehash?: boolean }) => {
    const rehash = opts.rehash ? readFileSync(0, 'utf8') : undefined;
    console.log(await adminKeyCommand({ ...opts, rehash }).catch((err: unknown) => { throw new InvalidArgumentError(err instanceof Error ? err.message : String(err)); }));
  });

// Issue 18: budgets, rollout stages, stage reports and explain (src/cli/guardrails-command.ts).
registerGuardrailCommands(program, withAdmin, runAdmin);

const audit = program.command('audit').description('verify and query attribution logs');
audit
  .command('verify')
  .description('prove an attribution log untouched (hash chain + signed checkpoints); names the first bad line')
  .argument('<paths...>', 'the JSON-lines log: a file, a directory of rotated files, or files in chain order')
  .option('--keys-dir <dir>', 'the broker keys folder (public parts are used)', 'keys')
  .option('--jwks-file <file>', 'the broker JWKS (from /jwks) instead of the keys folder')
  .option('--strict', 'fail when records after the last checkpoint are unproven')
  .option('--expect-head <seq:hash>', 'a chain head recorded elsewhere: the log must reach it')
  .option('--start-after <seq:hash>', 'older files were removed (retention): the head of the last removed line; the log must continue it')
  .action(async (paths: string[], opts: { keysDir: string; jwksFile?: string; strict?: boolean; expectHead?: string; startAfter?: string }) => {
    process.exitCode = await runAuditVerify({
      file: paths,
      ...(opts.jwksFile ? { jwksFile: opts.jwksFile } : { keysDir: opts.keysDir }),
      ...(opts.strict ? { strict: true } : {}),
      ...(opts.expectHead ? { expectHead: opts.expectHead } : {}),
      ...(opts.startAfter ? { startAfter: opts.startAfter } : {}),
      out: (line) => { console.log(line); },
    });
  });
audit
  .command('query')
  .description('print the records matching every filter given, in order, one JSON object per line')
  .argument('<paths...>', 'the JSON-lines log: a file, a directory of rotated files, or files in chain order')
  .option('--agent <client-id>')
  .option('--user <sub>', 'the user (or its pseudonym when user redaction is on)')
  .option('--tool <id>')
  .option('--decision <granted|denied>')
  .option('--from <iso-time>', 'inclusive')
  .option('--to <iso-time>', 'exclusive')
  .action(async (paths: string[], opts: { agent?: string; user?: string; tool?: string; decision?: string; from?: string; to?: string }) => {
    if (opts.decision !== undefined && opts.decision !== 'granted' && opts.decision !== 'denied') throw new InvalidArgumentError('--decision is granted or denied');
    process.exitCode = await runAuditQuery({
      file: paths,
      ...(opts.agent ? { agent: opts.agent } : {}),
      ...(opts.user ? { user: opts.user } : {}),
      ...(opts.tool ? { tool: opts.tool } : {}),
      ...(opts.decision ? { decision: opts.decision } : {}),
      ...(opts.from ? { from: opts.from } : {}),
      ...(opts.to ? { to: opts.to } : {}),
      out: (line) => { console.log(line); },
      warn: (line) => { console.error(line); },
    });
  });

const keys = program.command('keys').description('the broker\'s signing keys (keys/README.md)');
const keysDirOption = (cmd: Command): Command => cmd.option('--keys-dir <dir>', 'the keys directory (default $BROKER_KEYS_DIR, else ./keys)');
const keysDirOf = (opts: { keysDir?: string }): string => opts.keysDir ?? process.env.BROKER_KEYS_DIR ?? 'keys';
keysDirOption(keys.command('generate').description('write the first production signing key (ES256, mode 0600) into an empty keys directory'))
  .action(async (opts: { keysDir?: string }) => {
    process.exitCode = await runKeysGenerate({ keysDir: keysDirOf(opts), out: (line) => { console.log(line); } });
  });
keysDirOption(keys.command('rotate').description('publish a new signing key now; it signs after --activate-after, and the old key stays published until its tokens expired'))
  .option('--activate-after <duration>', 'how long validators get to refetch the JWKS before the new key signs (default 15m)')
  .action(async (opts: { keysDir?: string; activateAfter?: string }) => {
    const activateAfterMs = opts.activateAfter === undefined ? undefined : parseDurationMs(/^\d+$/u.test(opts.activateAfter) ? Number(opts.activateAfter) : opts.activateAfter, { allowZero: true });
    if (opts.activateAfter !== undefined && activateAfterMs === undefined) throw new InvalidArgumentError('--activate-after must be a duration like 15m, 90s or 0');
    process.exitCode = await runKeysRotate({ keysDir: keysDirOf(opts), out: (line) => { console.log(line); }, ...(activateAfterMs === undefined ? {} : { activateAfterMs }) });
  });
keysDirOption(keys.command('import').description('write a production key file from a private ES256 JWK or a key file of an earlier build (same kid)'))
  .argument('<file>', 'the JWK or the old key file')
  .action(async (file: string, opts: { keysDir?: string }) => {
    process.exitCode = await runKeysImport({ keysDir: keysDirOf(opts), source: file, text: readFileSync(file, 'utf8'), out: (line) => { console.log(line); } });
  });
keysDirOption(keys.command('list').description('show each signing key and its state now (next, active, retired, expired)'))
  .option('--production', 'refuse development keys, as a production broker does')
  .action(async (opts: { keysDir?: string; production?: boolean }) => {
    process.exitCode = await runKeysList({ keysDir: keysDirOf(opts), production: opts.production === true, out: (line) => { console.log(line); } });
  });

// The vault's key file and its re-encryption (issue 17, src/upstream/vault/).
registerVaultKeyCommands(program, keysDirOf, (line) => { console.log(line); });
withAdmin(program.command('vault-reencrypt').description('seal every stored SaaS connection again under the active vault key (before retiring an old one)'))
  .requiredOption('--reason <text>', 'why (recorded)')
  .action(async (opts: AdminOptions & { reason: string }) => { await runAdmin(opts, 'POST', '/admin/vault/reencrypt', { reason: opts.reason }); });
registerApprovalCommands(program);

program.exitOverride((err) => {
  if (err.code !== 'commander.helpDisplayed' && err.code !== 'commander.version') process.exitCode = err.exitCode || 1;
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof InvalidArgumentError) console.error(`error: ${err.message}`);
  else if (!(err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('commander.'))) throw err;
  process.exitCode ||= 1;
}
