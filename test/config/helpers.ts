/** Shared helpers for the configuration tests. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { formatProblem, isConfigError } from '../../src/config/config-error.js';

/** The repository root (where the sample `scopes/` and `clients/` live). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The formatted problem lines of the ConfigError `fn` throws (fails the test if it throws anything else or nothing). */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (isConfigError(error)) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

export async function asyncProblemsOf(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (error) {
    if (isConfigError(error)) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

/** A fresh temporary directory; remove it with `removeTempDirs`. */
const created: string[] = [];
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'broker-config-test-'));
  created.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Writes files (relative path -> YAML text, or a value to serialise as YAML) under `dir`. */
export async function writeFiles(dir: string, files: Record<string, string | object>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, typeof content === 'string' ? content : stringify(content));
  }
}

/** A valid CRM tool file, with top-level overrides. */
export function crmTool(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'crm',
    description: 'Customer accounts and contacts.',
    resource: 'https://crm.example.internal/api',
    max_ttl: '5m',
    scopes: {
      'crm.accounts.read': { description: 'Read accounts', risk: 'low', justified_by: ['crm.read', 'crm.write'] },
      'crm.accounts.write': { description: 'Write accounts', risk: 'medium', justified_by: ['crm.write'] },
    },
    ...overrides,
  };
}

export function ticketsTool(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'tickets',
    description: 'Support tickets.',
    resource: 'https://tickets.example.internal/api',
    max_ttl: 600,
    scopes: { 'tickets.read': { description: 'Read tickets', risk: 'low', justified_by: ['tickets.read'] } },
    ...overrides,
  };
}

/** A valid scrypt hash (of the documented demo secret "demo-agent-secret"); hashing per test would be slow. */
export const SECRET_HASH = 'scrypt$16384$8$1$S0pJkcvqdV-4_ZOlWJAsRA$SjC8cZDQkVVCsMUVyp4UUCKb_tnxosRn0-jFpBcXPUc';

/** A valid agent file, with top-level overrides. */
export function agentFile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_id: 'test-agent',
    name: 'Test agent',
    owner: 'team@example.com',
    authentication: { method: 'client_secret_basic', secret_hash: SECRET_HASH },
    tools: { crm: ['crm.accounts.read'] },
    max_ttl: '10m',
    ...overrides,
  };
}
