/** The rollout stage applied to a granted scope outcome (pure). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../../src/config/load-catalog.js';
import { applyStage, STAGES } from '../../../src/guardrails/stages/stage.js';

const tool = buildCatalog([{
  source: 't.yaml',
  data: {
    id: 'crm', description: 'c', resource: 'https://crm.example.test/', max_ttl: 300,
    scopes: {
      'crm.read': { description: 'r', risk: 'low', access: 'read', justified_by: ['u'] },
      'crm.write': { description: 'w', risk: 'medium', access: 'write', justified_by: ['u'] },
      'crm.unmarked': { description: 'u', risk: 'low', justified_by: ['u'] },
    },
  },
}]).tools.get('crm')!;
const all = { requested: ['crm.read', 'crm.write', 'crm.unmarked'], granted: ['crm.read', 'crm.write', 'crm.unmarked'], dropped: [] };

describe('applyStage', () => {
  it('autonomous: the catalog\'s rules as they are', () => {
    expect(applyStage('autonomous', tool, all)).toEqual({ kind: 'proceed', stage: 'autonomous', scopes: all });
  });
  it('shadow: decided in full, nothing to mint', () => {
    expect(applyStage('shadow', tool, all)).toEqual({ kind: 'shadow', stage: 'shadow', scopes: all });
  });
  it('read_only: only read scopes; an unmarked scope counts as write', () => {
    const out = applyStage('read_only', tool, all);
    expect(out).toMatchObject({ kind: 'proceed', scopes: { granted: ['crm.read'], dropped: [{ scope: 'crm.write', reason: 'stage_read_only' }, { scope: 'crm.unmarked', reason: 'stage_read_only' }] } });
    const none = applyStage('read_only', tool, { requested: ['crm.write'], granted: ['crm.write'], dropped: [] });
    expect(none).toMatchObject({ decision: 'denied', reason: 'stage_read_only', error: 'invalid_scope' });
  });
  it('supervised: write scopes need approval, read scopes do not', () => {
    expect(applyStage('supervised', tool, all)).toMatchObject({ kind: 'approval_required', writeScopes: ['crm.write', 'crm.unmarked'] });
    expect(applyStage('supervised', tool, { requested: ['crm.read'], granted: ['crm.read'], dropped: [] })).toMatchObject({ kind: 'proceed' });
  });
  it('no stage but autonomous ever lets a write scope through without approval (property)', () => {
    const scopes = fc.subarray(['crm.read', 'crm.write', 'crm.unmarked'], { minLength: 1 });
    fc.assert(fc.property(fc.constantFrom(...STAGES), scopes, (stage, granted) => {
      const out = applyStage(stage, tool, { requested: granted, granted, dropped: [] });
      if (stage === 'autonomous' || !('kind' in out) || out.kind !== 'proceed') return;
      expect(out.scopes.granted.every((s) => s === 'crm.read')).toBe(true);
    }));
  });
});
