/**
 * The development sample's client secret is public (README, clients/demo-agent.yaml). In production an
 * agent whose `secret_hash` verifies it is refused, whatever its file says: a copy of the sample with
 * `dev_only` removed, or the demo secret hashed again with a new salt, is still a publicly known credential.
 *
 * Cost: one scrypt per client_secret_basic agent at load, in production only (~50 ms each at N=16384, run
 * on the thread pool concurrently); an exact copy of the shipped hash is recognised without scrypt, and an
 * identical hash string is verified once.
 */
import type { AgentRegistry } from '../domain/agent.js';
import type { ConfigProblem } from './config-error.js';
import { verifyClientSecret } from '../provider/client-secret-hash.js';

/** The public secrets of the development samples. */
export const DEMO_SECRETS: readonly string[] = ['demo-agent-secret'];
/** The hash shipped in clients/demo-agent.yaml. */
const SHIPPED_DEMO_HASH = 'scrypt$16384$8$1$S0pJkcvqdV-4_ZOlWJAsRA$SjC8cZDQkVVCsMUVyp4UUCKb_tnxosRn0-jFpBcXPUc';

async function isDemoSecretHash(hash: string): Promise<boolean> {
  if (hash === SHIPPED_DEMO_HASH) return true;
  for (const secret of DEMO_SECRETS) if (await verifyClientSecret(hash, secret)) return true;
  return false;
}

export async function demoSecretProblems(agents: AgentRegistry): Promise<ConfigProblem[]> {
  const verdicts = new Map<string, Promise<boolean>>();
  const checks = [...agents.agents.values()].flatMap((agent) => {
    if (agent.authentication.method !== 'client_secret_basic') return [];
    const hash = agent.authentication.secretHash;
    let verdict = verdicts.get(hash);
    if (verdict === undefined) {
      verdict = isDemoSecretHash(hash);
      verdicts.set(hash, verdict);
    }
    return [verdict.then((demo): ConfigProblem[] => demo
      ? [{ file: agent.source, path: 'authentication.secret_hash', message: 'verifies the public development secret (demo-agent-secret) and is refused in production: give this agent its own secret (`broker hash-secret`)' }]
      : [])];
  });
  return (await Promise.all(checks)).flat();
}
