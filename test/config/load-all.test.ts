import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/cli/check-command.js';
import { loadEverything } from '../../src/config/load-all.js';
import {
  agentFile,
  asyncProblemsOf,
  crmTool,
  REPO_ROOT,
  removeTempDirs,
  tempDir,
  ticketsTool,
  writeFiles,
} from './helpers.js';

afterEach(removeTempDirs);

async function check(options: { config?: string; catalog?: string; clients?: string; cwd: string; env?: Record<string, string> }) {
  const lines: string[] = [];
  const code = await runCheck({ ...options, env: options.env ?? {}, out: (line) => lines.push(line) });
  return { code, lines };
}

describe('loadEverything', () => {
  it('loads the samples with the embedded development default', async () => {
    const { config, catalog, agents } = await loadEverything({ env: {}, cwd: REPO_ROOT });
    expect(config.mode).toBe('development');
    expect(config.catalogDir).toBe(path.join(REPO_ROOT, 'scopes'));
    expect([...catalog.tools.keys()].sort()).toEqual(['accounts', 'connected-accounts', 'crm', 'payments', 'payroll', 'tickets']);
    expect([...agents.agents.keys()]).toEqual(['accounts-tool', 'connected-accounts-tool', 'demo-agent']);
  });

  it('collects every problem in every file into one ConfigError', async () => {
    const dir = await tempDir();
    const badRisk = crmTool();
    (badRisk.scopes as Record<string, Record<string, unknown>>)['crm.accounts.write']!.risk = 'severe';
    await writeFiles(dir, {
      'broker.yaml': { mode: 'production', issuer: 'http://broker.example.com', trusted_issuers: [{ issuer: 'https://idp.example.com', audiences: ['broker'], algorithms: ['HS256'] }] },
      'scopes/crm.yaml': badRisk,
      'scopes/crm-again.yaml': crmTool({ resource: 'https://other.example.internal' }),
      'scopes/tickets.yaml': ticketsTool({ time_windows: [{ days: ['mon'], from: '9am', to: '17:00', time_zone: 'Mars/Olympus' }] }),
      'clients/a.yaml': agentFile({ dev_only: true, authentication: { method: 'client_secret_basic', secret: 'hunter2' } }),
      'clients/b.yaml': agentFile({ client_id: 'b', tools: { crm: ['crm.accounts.read', 'crm.accounts.purge'] } }),
    });
    const problems = await asyncProblemsOf(
      loadEverything({ file: 'broker.yaml', env: { BROKER_LOG_LEVEL: 'chatty' }, cwd: dir }),
    );
    expect(problems).toEqual([
      // Field by field first, then environment overrides, then the rules that depend on the final values.
      'broker.yaml: trusted_issuers[0].algorithms[0]: "HS256" is a shared-secret (HMAC) algorithm and is never accepted; use an asymmetric algorithm such as ES256 or RS256',
      'environment: BROKER_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "chatty")',
      'broker.yaml: issuer: production mode requires an https issuer (http is accepted only on a loopback host)',
      'scopes/crm.yaml: scopes["crm.accounts.write"].risk: must be one of low, medium, high, critical',
      // Files are read in name order: "crm-again.yaml" sorts before "crm.yaml".
      'scopes/crm.yaml: id: duplicate tool id "crm": already defined in scopes/crm-again.yaml',
      'scopes/tickets.yaml: time_windows[0].from: must be a time of day "HH:MM" (24-hour clock, 00:00 to 23:59, quoted)',
      'scopes/tickets.yaml: time_windows[0].time_zone: must be a valid IANA time zone, e.g. "Europe/Berlin" or "UTC"',
      'clients/a.yaml: authentication.secret_hash: is required',
      'clients/a.yaml: authentication.secret: plaintext client secrets are never stored; hash the secret with `broker hash-secret` and put the result in authentication.secret_hash',
      'clients/a.yaml: dev_only: this is a development-only sample identity and is refused in production mode; remove the file from the clients directory',
      'clients/b.yaml: tools.crm[1]: scope "crm.accounts.purge" is not defined by tool "crm" (its scopes: crm.accounts.read, crm.accounts.write)',
    ]);
  });

  it('does not report references to tools whose catalog file is broken', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      'scopes/crm.yaml': 'id: crm\n  bad: indentation\n',
      'scopes/tickets.yaml': ticketsTool(),
      'clients/a.yaml': agentFile({ tools: { crm: ['crm.accounts.read'], tickets: ['tickets.write'] } }),
    });
    const problems = await asyncProblemsOf(loadEverything({ env: {}, cwd: dir }));
    const [last, ...yamlProblems] = [...problems].reverse();
    expect(yamlProblems.length).toBeGreaterThan(0);
    for (const problem of yamlProblems) expect(problem).toMatch(/^scopes\/crm\.yaml: invalid YAML at line \d+, column \d+: /u);
    // crm is unknown only because its file is broken: that is not reported again; tickets' scopes still are checked.
    expect(last).toBe(
      'clients/a.yaml: tools.tickets[0]: scope "tickets.write" is not defined by tool "tickets" (its scopes: tickets.read)',
    );
  });
});

describe('runCheck', () => {
  it('prints a summary and returns 0 for the samples', async () => {
    expect(await check({ cwd: REPO_ROOT })).toEqual({
      code: 0,
      lines: ['ok: 6 tools (accounts, connected-accounts, crm, payments, payroll, tickets), 3 agents (accounts-tool, connected-accounts-tool, demo-agent)'],
    });
  });

  it('prints every problem and returns 1', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      'prod.yaml': { mode: 'production', issuer: 'https://broker.example.com', trusted_issuers: [{ issuer: 'https://idp.example.com', audiences: ['broker'] }] },
    });
    // The repository's samples under a production configuration: the demo agent is refused.
    const result = await check({
      config: path.join(dir, 'prod.yaml'),
      catalog: path.join(REPO_ROOT, 'scopes'),
      clients: path.join(REPO_ROOT, 'clients'),
      cwd: REPO_ROOT,
    });
    expect(result).toEqual({
      code: 1,
      lines: [
        'clients/accounts-tool.yaml: dev_only: this is a development-only sample identity and is refused in production mode; remove the file from the clients directory',
        'clients/connected-accounts-tool.yaml: dev_only: this is a development-only sample identity and is refused in production mode; remove the file from the clients directory',
        'clients/demo-agent.yaml: dev_only: this is a development-only sample identity and is refused in production mode; remove the file from the clients directory',
        // Production never generates a signing key: `broker check` says so before the start would.
        expect.stringMatching(/\/keys: no signing key: create one with `broker keys generate` \(production never generates keys\)$/u),
        'check failed: 4 problems',
      ],
    });
  });

  it('checks the directories it is given instead of the configured ones', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      'cat/crm.yaml': crmTool(),
      'cat/tickets.yaml': ticketsTool(),
      'agents/a.yaml': agentFile({ client_id: 'a' }),
      'agents/b.yaml': agentFile({ client_id: 'b', tools: { tickets: ['tickets.read'] } }),
    });
    expect(await check({ catalog: 'cat', clients: 'agents', cwd: dir })).toEqual({
      code: 0,
      lines: ['ok: 2 tools (crm, tickets), 2 agents (a, b)'],
    });
    expect(await check({ catalog: 'missing', clients: 'agents', cwd: dir })).toEqual({
      code: 1,
      lines: ['missing: the directory does not exist', 'check failed: 1 problem'],
    });
  });

  it('refuses the embedded default under NODE_ENV=production', async () => {
    const result = await check({ cwd: REPO_ROOT, env: { NODE_ENV: 'production' } });
    expect(result.code).toBe(1);
    expect(result.lines[0]).toBe(
      'environment: NODE_ENV: no configuration file was given (--config or BROKER_CONFIG): the embedded development default is refused under NODE_ENV=production',
    );
  });
});
