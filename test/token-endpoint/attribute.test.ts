import { describe, expect, it } from 'vitest';
import type { Grant } from '../../src/domain/exchange.js';
import { deny } from '../../src/exchange/reasons.js';
import { MemorySink } from '../../src/attribution/memory-sink.js';
import { createLogger } from '../../src/log.js';
import { attribute } from '../../src/token-endpoint/attribute.js';
import { refuse } from '../../src/token-endpoint/pipeline/step.js';
import type { Issued } from '../../src/token-endpoint/pipeline/runner.js';
import type { TalliedDenial } from '../../src/token-endpoint/denial-tally.js';
import type { UnauthenticatedDenials } from '../../src/token-endpoint/unauthenticated-denials.js';
import { makeAgent, makeTool } from '../exchange/fixtures.js';

const agent = makeAgent({ clientId: 'agent-a' });
const tool = makeTool();
const grant = {
  decision: 'granted', tool, subject: { iss: 'https://idp.example', sub: 'alice' }, act: { sub: 'agent-a' },
  scopes: { requested: ['crm.read'], granted: ['crm.read'], dropped: [] }, iat: 1, exp: 2, lifetimeBoundBy: 'tool_max_ttl',
  issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
} as Grant;
const minted = { token: 'header.payload.signature', jti: 'jti-1', iat: 1, exp: 2 };
const issued: Issued = { kind: 'issued', grant, minted, tokenType: 'Bearer' };
const log = createLogger('silent');

describe('attribute: one record per request, durable before the token leaves', () => {
  it('a grant is recorded, then released', async () => {
    const sink = new MemorySink();
    const seen: string[] = [];
    const answer = await attribute({ established: { requestId: 'r1', agent, clientId: 'agent-a', tool, grant, minted }, result: issued }, '192.0.2.1', {
      sink, log, now: () => 0, observe: (r) => seen.push(r.decision),
    });
    expect(answer).toBe(issued);
    expect(sink.records).toEqual([expect.objectContaining({ decision: 'granted', request_id: 'r1', agent: { client_id: 'agent-a', authenticated: true } })]);
    expect(JSON.stringify(sink.records)).not.toContain(minted.token);
    expect(seen).toEqual(['granted']);
  });

  it('the record cannot be written: the token is withheld (503 attribution_unavailable)', async () => {
    const sink = new MemorySink();
    sink.failing = true;
    const answer = await attribute({ established: { requestId: 'r2', agent, grant, minted }, result: issued }, '192.0.2.1', { sink, log, now: () => 0 });
    expect(answer).toMatchObject({ kind: 'refused', denial: { reason: 'attribution_unavailable', error: 'temporarily_unavailable' } });
  });

  it('a refusal after minting (re-check) names no grant and no token in its record', async () => {
    const sink = new MemorySink();
    const refusal = refuse(deny('agent_suspended', 'agent is suspended'));
    await attribute({ established: { requestId: 'r3', agent, tool, grant, minted }, result: refusal }, '192.0.2.1', { sink, log, now: () => 0 });
    expect(sink.records[0]).toMatchObject({ decision: 'denied', reason: 'agent_suspended', error: 'unauthorized_client' });
    expect(sink.records[0]).not.toHaveProperty('token');
    expect(sink.records[0]).not.toHaveProperty('actors');
  });

  it('a denial without an authenticated agent goes to the aggregate when aggregation is on', async () => {
    const sink = new MemorySink();
    const tallied: TalliedDenial[] = [];
    const unauthenticated: UnauthenticatedDenials = { add: (d) => { tallied.push(d); }, flush: () => Promise.resolve(), close: () => Promise.resolve() };
    const refusal = refuse(deny('client_authentication_failed', 'invalid secret provided'));
    await attribute({ established: { requestId: 'r4', clientId: 'agent-a' }, result: refusal }, '192.0.2.9', { sink, log, now: () => 5, unauthenticated });
    expect(sink.records).toEqual([]);
    expect(tallied).toEqual([{ address: '192.0.2.9', reason: 'client_authentication_failed', clientId: 'agent-a', atMs: 5 }]);
  });
});
