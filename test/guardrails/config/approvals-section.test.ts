/**
 * broker.yaml `approvals:` (issue 18): poll interval, default lifetime, webhook URL, the webhook secret as an
 * environment variable's name, webhook timeout. Validated by `broker check` with file and field, and applied
 * by the gate (the default lifetime only where the catalog sets no `approval.expires_in`).
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCheck } from '../../../src/cli/check-command.js';
import { buildBrokerConfig } from '../../../src/config/load-broker-config.js';
import { approvalOptionsFrom } from '../../../src/guardrails/approvals/create-approvals.js';
import { createApprovalGate } from '../../../src/guardrails/approvals/approval-step.js';
import { MemoryApprovalStore } from '../../../src/guardrails/approvals/approval-store.js';
import type { ApprovalRecord } from '../../../src/guardrails/approvals/approval-record.js';
import type { Grant } from '../../../src/domain/exchange.js';
import { problemsOf, REPO_ROOT, removeTempDirs, tempDir, writeFiles } from '../../config/helpers.js';
import { paymentDetail, paymentsTool } from '../payments-tool.js';

afterEach(removeTempDirs);

const BASE = { mode: 'development', issuer: 'http://127.0.0.1:9400', dev_identity_provider: { port: 9401 } };
const build = (approvals: unknown, env: Record<string, string> = {}) =>
  buildBrokerConfig({ ...BASE, approvals }, { source: 'broker.yaml', baseDir: '/etc/broker', cwd: '/srv', env });

describe('broker.yaml approvals:', () => {
  it('reads every setting; the secret only by the name of its variable', () => {
    const config = build({
      poll_interval: '3s', default_lifetime: '20m', webhook_url: 'https://hooks.example.com/approvals',
      webhook_secret_env: 'APPROVAL_HOOK_SECRET', webhook_timeout: '1500ms',
    }, { APPROVAL_HOOK_SECRET: 'from-the-environment' });
    expect(config.approvals).toEqual({
      pollIntervalSeconds: 3, defaultLifetimeSeconds: 1200, webhookUrl: 'https://hooks.example.com/approvals',
      webhookSecretEnv: 'APPROVAL_HOOK_SECRET', webhookTimeoutMs: 1500,
    });
    expect(JSON.stringify(config)).not.toContain('from-the-environment');
    expect(approvalOptionsFrom(config.approvals, { APPROVAL_HOOK_SECRET: 'from-the-environment' })).toEqual({
      webhookSecret: 'from-the-environment', pollIntervalSeconds: 3, webhookTimeoutMs: 1500,
      webhookUrl: 'https://hooks.example.com/approvals', defaultLifetimeSeconds: 1200,
    });
    // No section: the defaults (5 s, 10 min, the secret from BROKER_APPROVAL_WEBHOOK_SECRET if set).
    expect(build(undefined).approvals).toBeUndefined();
    expect(approvalOptionsFrom(undefined, { BROKER_APPROVAL_WEBHOOK_SECRET: 's' })).toEqual({ webhookSecret: 's' });
  });

  it('names the file and the field of each bad value', () => {
    expect(problemsOf(() => build({ poll_interval: '0s' }))).toEqual([expect.stringMatching(/^broker\.yaml: approvals\.poll_interval: /u)]);
    expect(problemsOf(() => build({ poll_interval: '2m' }))).toEqual([expect.stringMatching(/^broker\.yaml: approvals\.poll_interval: must be at most/u)]);
    expect(problemsOf(() => build({ default_lifetime: '25h' }))).toEqual([expect.stringMatching(/^broker\.yaml: approvals\.default_lifetime: must be at most/u)]);
    expect(problemsOf(() => build({ webhook_url: 'http://hooks.example.com/x' }))).toEqual(['broker.yaml: approvals.webhook_url: must be an https URL (http only for localhost)']);
    expect(problemsOf(() => build({ webhook_secret_env: 'the-secret-itself' }))).toEqual([expect.stringMatching(/^broker\.yaml: approvals\.webhook_secret_env: must be the name of an environment variable/u)]);
    expect(problemsOf(() => build({ webhook_timeout: '50ms' }))).toEqual([expect.stringMatching(/^broker\.yaml: approvals\.webhook_timeout: must be at least 100ms/u)]);
    expect(problemsOf(() => build({ webhook_url: 'https://hooks.example.com/x', webhook_secret_env: 'HOOK_SECRET' })))
      .toEqual(['broker.yaml: approvals.webhook_secret_env: the environment variable HOOK_SECRET (the webhook\'s HMAC secret) is not set']);
    expect(problemsOf(() => build({ poll_intervall: '5s' }))).toEqual([expect.stringMatching(/^broker\.yaml: approvals(\.poll_intervall)?: .*poll_interval/u)]);
  });

  it('broker check reports them with the file and the field', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'broker.yaml': { ...BASE, approvals: { webhook_timeout: 'soon', webhook_url: 'ftp://x' } } });
    const lines: string[] = [];
    const code = await runCheck({ config: path.join(dir, 'broker.yaml'), catalog: path.join(REPO_ROOT, 'scopes'), clients: path.join(REPO_ROOT, 'clients'), cwd: REPO_ROOT, env: {}, out: (line) => lines.push(line) });
    expect(code).toBe(1);
    expect(lines).toEqual([
      expect.stringMatching(/broker\.yaml: approvals\.webhook_url: must be an https URL/u),
      expect.stringMatching(/broker\.yaml: approvals\.webhook_timeout: must be/u),
      'check failed: 2 problems',
    ]);
  });

  it('the gate lapses a request after default_lifetime when the catalog sets no expires_in, and after the catalog\'s otherwise', async () => {
    const payments = await paymentsTool();
    const withoutLapse = { ...payments, approval: { ...payments.approval!, lapseSeconds: 600, lapseDefaulted: true as const } };
    const withLapse = { ...payments, approval: { ...payments.approval!, lapseSeconds: 600 } };
    const { lapseDefaulted: _, ...explicit } = withLapse.approval as typeof withLapse.approval & { lapseDefaulted?: true };
    const now = 1_800_000_000_000;
    const lapseOf = async (tool: typeof payments) => {
      const records: ApprovalRecord[] = [];
      const gate = createApprovalGate({ store: new MemoryApprovalStore(() => now), record: (r) => { records.push(r); return Promise.resolve(); }, now: () => now, defaultLifetimeSeconds: 1200 });
      const grant = { tool, subject: { iss: 'https://idp', sub: 'alice' }, scopes: { granted: ['payments.create'], requested: ['payments.create'], dropped: [] }, iat: now / 1000, exp: now / 1000 + 300 } as unknown as Grant;
      const step = await gate.run({ tool, grant, agentId: 'a', rawDetails: JSON.stringify([paymentDetail({ payee: 'X', amount: '5000.00', currency: 'EUR' })]), approvalId: undefined, requestId: 'r', callerAddress: '127.0.0.1' });
      if (!('step' in step) || step.step !== 'answer') throw new Error('expected the pending answer');
      return step.members.expires_in;
    };
    expect(await lapseOf(withoutLapse)).toBe(1200);
    expect(await lapseOf({ ...payments, approval: explicit })).toBe(600);
  });
});
