/** `budgets`, `stage` in agent files and `access` in the catalog: loaded, and every bad field named. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAgents, loadAgents } from '../../../src/config/load-agents.js';
import { buildCatalog, loadCatalog } from '../../../src/config/load-catalog.js';
import { agentFile, crmTool, problemsOf, REPO_ROOT, ticketsTool } from '../../config/helpers.js';

const catalog = buildCatalog([{ source: 'scopes/crm.yaml', data: crmTool() }, { source: 'scopes/tickets.yaml', data: ticketsTool() }]);
const F = 'clients/test-agent.yaml';
const one = (overrides: Record<string, unknown>) => buildAgents([{ source: F, data: agentFile(overrides) }], catalog, 'development');

describe('agent budgets and stage', () => {
  it('loads them (stage default autonomous; amounts per currency in minor units)', () => {
    const agent = one({
      stage: 'read_only',
      budgets: { overall: { exchanges_per_hour: 50 }, tools: { crm: { exchanges_per_day: 10, amount_minor_per_day: { USD: 50000 } } }, on_exceed: 'suspend', notify: { webhook: 'https://hooks.example.com/b', secret_env: 'BUDGET_SECRET' } },
    }).agents.get('test-agent');
    expect(agent?.stage).toBe('read_only');
    expect(agent?.budgets?.overall).toEqual({ exchangesPerHour: 50 });
    expect(agent?.budgets?.tools.get('crm')).toEqual({ exchangesPerDay: 10, amountMinorPerDay: new Map([['USD', 50000]]) });
    expect(agent?.budgets?.onExceed).toBe('suspend');
    expect(agent?.budgets?.notify).toEqual({ webhook: 'https://hooks.example.com/b', secretEnv: 'BUDGET_SECRET' });
    expect(one({}).agents.get('test-agent')?.stage).toBeUndefined();
  });

  it('names every bad field, file and path', () => {
    expect(problemsOf(() => one({
      stage: 'yolo',
      budgets: {
        overall: {},
        tools: { crm: { exchanges_per_hour: 0, amount_minor_per_day: { usd: 5, EUR: 1.5 } }, tickets: { exchanges_per_day: 1 } },
        on_exceed: 'shrug', notify: { webhook: 'http://hooks.example.com/b', secret_env: 'the secret' }, limit: 5,
      },
    }))).toEqual([
      `${F}: stage: must be one of shadow, read_only, supervised, autonomous`,
      `${F}: budgets.overall: must set at least one of exchanges_per_hour, exchanges_per_day, amount_minor_per_day`,
      `${F}: budgets.tools.crm.exchanges_per_hour: must be at least 1`,
      `${F}: budgets.tools.crm.amount_minor_per_day.usd: must be an ISO 4217 code in upper case, e.g. USD`,
      `${F}: budgets.tools.crm.amount_minor_per_day.EUR: must be a whole number of minor units (e.g. cents)`,
      `${F}: budgets.on_exceed: must be one of refuse, suspend`,
      `${F}: budgets.notify.webhook: must be an https URL (plain http only to localhost)`,
      `${F}: budgets.notify.secret_env: must name an environment variable (A-Z, 0-9, _) holding the HMAC secret; the secret itself never goes in a file`,
      `${F}: budgets.limit: unknown key (allowed: overall, tools, on_exceed, notify)`,
    ]);
  });

  it('refuses a tool budget for a tool the agent is not registered for', () => {
    expect(problemsOf(() => one({ budgets: { tools: { tickets: { exchanges_per_day: 1 } } } }))).toEqual([
      `${F}: budgets.tools.tickets: the agent is not registered for tool "tickets" (its tools: crm)`,
    ]);
  });

  it('the sample agent declares a payments budget and the sample catalog marks read scopes', async () => {
    const sample = await loadCatalog(path.join(REPO_ROOT, 'scopes'));
    expect(sample.tools.get('crm')?.scopes.get('crm.accounts.read')?.access).toBe('read');
    expect(sample.tools.get('crm')?.scopes.get('crm.accounts.write')?.access).toBeUndefined();
    const agents = await loadAgents(path.join(REPO_ROOT, 'clients'), sample, 'development', { cwd: REPO_ROOT });
    expect(agents.agents.get('demo-agent')?.budgets?.tools.get('payments')).toMatchObject({ exchangesPerHour: 100 });
  });

  it('refuses an unknown access value in the catalog', () => {
    expect(problemsOf(() => buildCatalog([{ source: 'scopes/crm.yaml', data: crmTool({ scopes: { 'crm.x': { description: 'x', risk: 'low', access: 'delete', justified_by: ['u'] } } }) }])))
      .toEqual(['scopes/crm.yaml: scopes["crm.x"].access: must be one of read, write']);
  });
});
