/**
 * Bench scenario (issue 17): the onward exchange (tool -> broker -> SaaS authorization server), with the
 * upstream credential served from the broker's cache and without it (every request obtains a fresh credential
 * from the sample SaaS through RFC 7523), next to a same-token agent exchange in the same run (PERFORMANCE.md
 * target: a cached onward exchange costs no more than a same-token exchange). Everything on 127.0.0.1, real
 * parts (the test bed of test/upstream/), bounded: `--seconds N` per load (default 5), `--connections C` (10).
 *   npx tsx bench/onward-exchange.ts --seconds 3
 * The tool identity and the agent authenticate with client_secret_basic (scrypt): under load the broker's
 * secret-check gate answers some requests 503 client_authentication_busy (counted as non2xx); private_key_jwt
 * identities would not meet it.
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { UpstreamCredentialCache } from '../src/upstream/credential-cache.js';
import { AGENT_SECRET, JB, startOnwardBed, TOOL_SECRET } from '../test/support/onward-bed.js';
import { AT_TYPE, basic, form, TE_GRANT } from '../test/support/token-request.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);
const connections = Number(values.connections);

async function load(url: string, authorization: string, body: string): Promise<{ rps: number; p50: number; p99: number; non2xx: number }> {
  const result = await autocannon({ url, method: 'POST', connections, duration: seconds, headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
}

async function scenario(cached: boolean): Promise<{ agent: Awaited<ReturnType<typeof load>>; onward: Awaited<ReturnType<typeof load>> }> {
  // Uncached: entries are never served (refreshed "before" any expiry).
  const bed = await startOnwardBed({ cache: cached ? new UpstreamCredentialCache() : new UpstreamCredentialCache({ refreshBeforeMs: Number.MAX_SAFE_INTEGER }) });
  try {
    const userToken = await bed.idp.userToken('alice');
    const brokerToken = await bed.agentToken('alice', JB, 'accounts.read');
    const agent = await load(bed.broker.tokenEndpoint, basic('assistant', AGENT_SECRET), form({ grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: JB, scope: 'accounts.read' }));
    const onward = await load(bed.broker.tokenEndpoint, basic('accounts-jb-tool', TOOL_SECRET), form({ grant_type: TE_GRANT, subject_token: brokerToken, subject_token_type: AT_TYPE, resource: bed.saas.apiResource }));
    return { agent, onward };
  } finally {
    await bed.close();
  }
}

const cachedRun = await scenario(true);
const uncachedRun = await scenario(false);
const row = (name: string, r: Awaited<ReturnType<typeof load>>, base: number) =>
  `${name.padEnd(38)} ${r.rps.toFixed(0).padStart(7)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.non2xx).padStart(7)} ${(r.rps / base).toFixed(2).padStart(7)}x`;
process.stdout.write(`onward exchange, ${String(seconds)} s per load, ${String(connections)} connections\n`);
process.stdout.write(`${'scenario'.padEnd(38)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'non2xx'.padStart(7)} vs same-token\n`);
process.stdout.write(`${row('same-token agent exchange (baseline)', cachedRun.agent, cachedRun.agent.rps)}\n`);
process.stdout.write(`${row('onward exchange, cached credential', cachedRun.onward, cachedRun.agent.rps)}\n`);
process.stdout.write(`${row('onward exchange, uncached (SaaS call)', uncachedRun.onward, uncachedRun.agent.rps)}\n`);
