/**
 * `broker check`, issue 17: the material the catalog's `upstream:` entries name, which the catalog files cannot
 * hold themselves. For each tool: its client key file in the keys directory exists, parses, and is a private key
 * of an allowed asymmetric algorithm (RFC 7523 §3 client assertions are signed with it); its client secret's
 * environment variable is set (an error, like every unset `*_env` reference of the configuration); and, when a
 * tool uses the vault, the vault key (BROKER_VAULT_KEYS or keys/vault-keys.json) is valid. Development tolerates
 * what the development default generates at start: the vault key, and the key file of an upstream on loopback
 * (the sample SaaS). Problems name the file and the field; a key's value never appears in one.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { importJWK, type JWK } from 'jose';
import type { ConfigProblem } from '../config/config-error.js';
import { algorithmProblem } from '../config/load-agents.js';
import type { BrokerConfig } from '../domain/broker-config.js';
import type { Catalog, Tool } from '../domain/catalog.js';
import type { ToolUpstream } from '../upstream/upstream-config.js';
import { parseVaultKeys, VAULT_KEYS_ENV, VAULT_KEYS_FILE } from '../upstream/vault/vault-keys.js';

export interface UpstreamCheckInput {
  readonly config: Pick<BrokerConfig, 'mode' | 'keysDir'>;
  readonly catalog: Catalog;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** For display: paths relative to it. */
  readonly cwd: string;
}

const isLoopback = (url: string | undefined): boolean => {
  if (url === undefined) return false;
  try {
    return ['localhost', '127.0.0.1', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
};

function loopbackUpstream(upstream: ToolUpstream): boolean {
  const s = upstream.server;
  return isLoopback(s.issuer) && ('tokenEndpoint' in s ? isLoopback(s.tokenEndpoint) : true);
}

/** What is wrong with a client key file's text, or undefined. */
async function keyFileProblem(text: string): Promise<string | undefined> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'is not JSON (a private JWK is expected)';
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || typeof (doc as { kty?: unknown }).kty !== 'string') return 'is not a JWK (no kty)';
  const jwk = doc as JWK;
  if (typeof jwk.d !== 'string') return 'is not a private key (a public JWK has no "d"): the broker signs its client assertions with it';
  const alg = jwk.alg ?? 'ES256';
  const bad = algorithmProblem(alg);
  if (bad !== undefined) return `alg ${bad}`;
  try {
    const key = await importJWK(jwk, alg);
    if (key instanceof Uint8Array || key.type !== 'private') return 'is not a private key';
  } catch {
    return `cannot be used with alg ${alg} (the key does not match the algorithm)`;
  }
  return undefined;
}

async function toolProblems(tool: Tool, upstream: ToolUpstream, input: UpstreamCheckInput, display: (p: string) => string): Promise<ConfigProblem[]> {
  const auth = upstream.clientAuth;
  if (auth.method === 'client_secret_basic') {
    const value = input.env[auth.secretEnv];
    return value === undefined || value === '' ? [{ file: tool.source, path: 'upstream.client.secret_env', message: `names ${auth.secretEnv}, which is not set` }] : [];
  }
  const file = path.join(input.config.keysDir, auth.keyFile);
  const at = { file: tool.source, path: 'upstream.client.key_file' };
  if (!existsSync(file)) {
    // The development default generates the sample SaaS's client key at start (src/dev/sample-mcp-tool/dev-samples.ts).
    if (input.config.mode !== 'production' && loopbackUpstream(upstream)) return [];
    return [{ ...at, message: `${display(file)} does not exist: put the broker's private JWK for ${upstream.clientId} there (mode 0600)` }];
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [{ ...at, message: `${display(file)} cannot be read` }];
  }
  const problem = await keyFileProblem(text);
  return problem === undefined ? [] : [{ ...at, message: `${display(file)} ${problem}` }];
}

/** The vault key, from BROKER_VAULT_KEYS or keys/vault-keys.json, parses into a usable ring. */
async function vaultKeyProblems(input: UpstreamCheckInput, display: (p: string) => string): Promise<ConfigProblem[]> {
  const fromEnv = input.env[VAULT_KEYS_ENV];
  const [source, text] = fromEnv !== undefined && fromEnv !== ''
    ? [{ file: 'environment', path: VAULT_KEYS_ENV }, fromEnv]
    : [{ file: display(path.join(input.config.keysDir, VAULT_KEYS_FILE)), path: '' }, await readFile(path.join(input.config.keysDir, VAULT_KEYS_FILE), 'utf8').catch(() => undefined)];
  if (text === undefined) {
    // Development generates it at start; production never invents a key.
    if (input.config.mode !== 'production') return [];
    return [{ ...source, message: `no vault key for the catalog's vault tools: set ${VAULT_KEYS_ENV} or create it with \`broker vault-key add --activate\`` }];
  }
  const parsed = parseVaultKeys(text, source.path === '' ? source.file : source.path);
  // parseVaultKeys prefixes each problem with its source: the problem's file and path say it already.
  const prefix = `${source.path === '' ? source.file : source.path}: `;
  return parsed.ok ? [] : parsed.problems.map((message) => ({ ...source, message: message.startsWith(prefix) ? message.slice(prefix.length) : message }));
}

/** Every problem with the upstream client credentials and the vault key the catalog needs. */
export async function upstreamCredentialProblems(input: UpstreamCheckInput): Promise<ConfigProblem[]> {
  const display = (p: string): string => path.relative(input.cwd, p) || p;
  const problems: ConfigProblem[] = [];
  let vaultTools = 0;
  for (const tool of input.catalog.tools.values()) {
    if (!tool.upstream) continue;
    if (tool.upstream.connector === 'vault') vaultTools += 1;
    problems.push(...await toolProblems(tool, tool.upstream, input, display));
  }
  if (vaultTools > 0) problems.push(...await vaultKeyProblems(input, display));
  return problems;
}
