import { describe, expect, it } from 'vitest';
import { checkMayAct } from '../../src/exchange/may-act.js';

const AGENT = 'agent-mail';
const BROKER = 'https://broker.example.com';

describe('checkMayAct', () => {
  it('places no restriction when the subject token has no may_act', () => {
    expect(checkMayAct(undefined, AGENT, BROKER)).toBeNull();
  });

  it('accepts a may_act naming this agent, with or without the broker as issuer', () => {
    expect(checkMayAct({ sub: AGENT }, AGENT, BROKER)).toBeNull();
    expect(checkMayAct({ sub: AGENT, iss: BROKER }, AGENT, BROKER)).toBeNull();
    expect(checkMayAct({ sub: AGENT, client_id: 'ignored' }, AGENT, BROKER)).toBeNull();
  });

  const refused: readonly (readonly [string, unknown])[] = [
    ['another agent', { sub: 'agent-other' }],
    ['the agent in another case', { sub: 'Agent-Mail' }],
    ['the agent with padding', { sub: ` ${AGENT}` }],
    ['a missing sub', { iss: BROKER }],
    ['an empty object', {}],
    ['a non-string sub', { sub: 42 }],
    ['an array sub', { sub: [AGENT] }],
    ['another issuer', { sub: AGENT, iss: 'https://evil.example.com' }],
    ['a look-alike issuer', { sub: AGENT, iss: `${BROKER}/` }],
    ['a null issuer', { sub: AGENT, iss: null }],
    ['a non-string issuer', { sub: AGENT, iss: 1 }],
    ['a bare string', AGENT],
    ['null', null],
    ['an array', [{ sub: AGENT }]],
    ['a number', 7],
    ['a boolean', true],
  ];

  it.each(refused)('refuses %s', (_name, mayAct) => {
    const result = checkMayAct(mayAct, AGENT, BROKER);
    expect(result?.reason).toBe('may_act_mismatch');
    expect(result?.error).toBe('invalid_request');
  });
});
