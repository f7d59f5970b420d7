/**
 * What-if: recorded exchanges replayed against an old and a new configuration (pure), and
 * `broker check --impact <old> <new> --log <file>` over real directories and a real log file.
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExchangeRecord } from '../../../src/attribution/record.js';
import { runImpact } from '../../../src/cli/impact-command.js';
import { buildAgents } from '../../../src/config/load-agents.js';
import { buildCatalog } from '../../../src/config/load-catalog.js';
import { impactOf, type ImpactConfig } from '../../../src/guardrails/explain/impact.js';
import { agentFile, crmTool, REPO_ROOT } from '../../config/helpers.js';

function record(agent: string, user: string, requested: string[], dropped: { scope: string; reason: 'not_justified_by_user' }[] = []): ExchangeRecord {
  return {
    v: 1, type: 'token_exchange', id: `${agent}-${user}`, time: '2026-12-01T10:00:00.000Z', request_id: 'r', decision: 'granted', reason: 'granted',
    agent: { client_id: agent, authenticated: true }, user: { iss: 'https://idp', sub: user }, tool: { id: 'crm', resource: 'https://crm.example.internal/api' },
    scopes: { requested, granted: requested.filter((s) => !dropped.some((d) => d.scope === s)), dropped }, caller: { address: '127.0.0.1' },
  };
}

function config(agentTools: string[], overrides: Record<string, unknown> = {}, tool: Record<string, unknown> = {}): ImpactConfig {
  const catalog = buildCatalog([{ source: 'scopes/crm.yaml', data: crmTool(tool) }]);
  return { catalog, agents: buildAgents([{ source: 'clients/a.yaml', data: agentFile({ client_id: 'agent-a', tools: { crm: agentTools }, ...overrides }) }], catalog, 'development') };
}

describe('impactOf', () => {
  const read = 'crm.accounts.read';
  const write = 'crm.accounts.write';

  it('lists who gains and who loses which scope, once per agent, user, tool and request', async () => {
    const records = [record('agent-a', 'alice', [read, write]), record('agent-a', 'alice', [read, write]), record('agent-a', 'bob', [read, write], [{ scope: write, reason: 'not_justified_by_user' }])];
    const lines = await impactOf(records, config([read]), config([read, write]));
    // Alice's token justified write; bob's did not, so he gains nothing.
    expect(lines).toEqual([expect.objectContaining({ agent: 'agent-a', user: 'alice', tool: 'crm', gained: [write], lost: [], requests: 2 })]);
    const demoted = await impactOf(records, config([read, write]), config([read, write], { stage: 'read_only' }, {
      scopes: { [read]: { description: 'r', risk: 'low', access: 'read', justified_by: ['crm.read', 'crm.write'] }, [write]: { description: 'w', risk: 'medium', justified_by: ['crm.write'] } },
    }));
    expect(demoted.map((l) => [l.user, l.lost])).toEqual([['alice', [write]]]);
  });

  it('says when the justified_by of a scope changed (the user side cannot be replayed exactly)', async () => {
    const lines = await impactOf([record('agent-a', 'alice', [read])], config([read]), config([read], {}, {
      scopes: { [read]: { description: 'r', risk: 'low', justified_by: ['crm.admin'] }, [write]: { description: 'w', risk: 'medium', justified_by: ['crm.write'] } },
    }));
    expect(lines).toEqual([expect.objectContaining({ user_check_changed: [read], gained: [], lost: [] })]);
  });

  it('an agent or tool removed loses everything', async () => {
    const none: ImpactConfig = { catalog: config([read]).catalog, agents: { agents: new Map() } };
    expect((await impactOf([record('agent-a', 'alice', [read])], config([read]), none))[0]?.lost).toEqual([read]);
  });
});

describe('broker check --impact', () => {
  it('replays a real log against two config directories', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'impact-'));
    const [before, after] = [path.join(root, 'old'), path.join(root, 'new')];
    for (const dir of [before, after]) {
      await cp(path.join(REPO_ROOT, 'scopes'), path.join(dir, 'scopes'), { recursive: true });
      await cp(path.join(REPO_ROOT, 'clients'), path.join(dir, 'clients'), { recursive: true });
    }
    // The change under review: the demo agent loses crm write.
    const agentPath = path.join(after, 'clients', 'demo-agent.yaml');
    await writeFile(agentPath, (await readFile(agentPath, 'utf8')).replace('crm: [crm.accounts.read, crm.accounts.write]', 'crm: [crm.accounts.read]'));
    const log = path.join(root, 'attribution.jsonl');
    const rec = { ...record('demo-agent', 'alice', ['crm.accounts.read', 'crm.accounts.write']), tool: { id: 'crm', resource: 'https://crm.example.internal/api' } };
    await writeFile(log, `${JSON.stringify(rec)}\n${JSON.stringify({ v: 1, type: 'admin_action', id: 'x', time: rec.time, request_id: 'r', action: 'agent.stage', by: 'oncall', target: { kind: 'agent', value: 'demo-agent' }, reason: 'r', caller: { address: 'a' } })}\n`);
    const out: string[] = [];
    expect(await runImpact({ oldDir: before, newDir: after, log: [log], cwd: root, out: (l) => out.push(l) })).toBe(1);
    expect(out).toEqual(['- demo-agent for alice at crm (1 recorded request): loses crm.accounts.write']);
    const same: string[] = [];
    expect(await runImpact({ oldDir: before, newDir: before, log: [log], cwd: root, out: (l) => same.push(l) })).toBe(0);
    expect(same).toEqual(['no change: every recorded request would be granted the same scopes']);
    const broken: string[] = [];
    expect(await runImpact({ oldDir: before, newDir: path.join(root, 'missing'), log: [log], cwd: root, out: (l) => broken.push(l) })).toBe(2);
  });
});
