/** Sealing (AES-256-GCM, key ids, AAD) and the vault key file: pure, no I/O beyond a temporary directory. */
import { mkdtempSync, readFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seal, sealedKid, unseal, UnsealError } from '../../../src/upstream/vault/seal.js';
import { activateVaultKey, addVaultKey, loadVaultKeys, parseVaultKeys, retireVaultKey, VAULT_KEYS_ENV, VAULT_KEYS_FILE, VaultKeysError } from '../../../src/upstream/vault/vault-keys.js';
import { ringOf } from '../../support/vault-bed.js';

const binding = { purpose: 'connection' as const, user: 'alice', tool: 'crm', upstream: 'https://saas.example' };

describe('seal', () => {
  it('round-trips, names its key, and never shows the plaintext', () => {
    const ring = ringOf('k1');
    const sealed = seal(ring, binding, 'the-refresh-token-value');
    expect(sealed.startsWith('v1.k1.')).toBe(true);
    expect(sealedKid(sealed)).toBe('k1');
    expect(sealed).not.toContain('refresh');
    expect(Buffer.from(sealed.split('.')[3]!, 'base64url').toString('utf8')).not.toContain('refresh');
    expect(unseal(ring, binding, sealed)).toBe('the-refresh-token-value');
    // A fresh IV each time: the same plaintext never seals the same way twice.
    expect(seal(ring, binding, 'x')).not.toBe(seal(ring, binding, 'x'));
  });

  it.each([
    ['another user', { ...binding, user: 'mallory' }],
    ['another tool', { ...binding, tool: 'payroll' }],
    ['another upstream', { ...binding, upstream: 'https://other.example' }],
    ['another purpose', { ...binding, purpose: 'pending' as const }],
  ])('does not open when bound to %s', (_what, other) => {
    const ring = ringOf('k1');
    expect(() => unseal(ring, other, seal(ring, binding, 'secret'))).toThrow(new UnsealError('not_authentic'));
  });

  it('refuses tampered, malformed and unknown-key values', () => {
    const ring = ringOf('k1');
    const sealed = seal(ring, binding, 'secret');
    const parts = sealed.split('.');
    const flipped = Buffer.from(parts[3]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => unseal(ring, binding, [...parts.slice(0, 3), flipped.toString('base64url'), parts[4]].join('.'))).toThrow(UnsealError);
    expect(() => unseal(ring, binding, 'v1.k1.abc')).toThrow(new UnsealError('malformed'));
    expect(() => unseal(ringOf('k2'), binding, sealed)).toThrow(/sealed under key "k1"/u);
    // Same key id, different key material: not authentic.
    expect(() => unseal(ringOf('k1'), binding, sealed)).toThrow(new UnsealError('not_authentic'));
  });
});

describe('vault key file', () => {
  it('add, activate, retire; mode 0600; the key never appears in a problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vault-keys-'));
    try {
      const file = join(dir, VAULT_KEYS_FILE);
      const first = addVaultKey(file, { activate: true, nowMs: Date.UTC(2026, 0, 1) });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const second = addVaultKey(file, { activate: false, nowMs: Date.UTC(2026, 5, 1) });
      let ring = loadVaultKeys({ keysDir: dir, env: {}, generate: false });
      expect(ring.active.kid).toBe(first);
      expect([...ring.byKid.keys()]).toEqual([first, second]);
      expect(() => { retireVaultKey(file, first); }).toThrow(/active key/u);
      activateVaultKey(file, second);
      retireVaultKey(file, first);
      ring = loadVaultKeys({ keysDir: dir, env: {}, generate: false });
      expect(ring.active.kid).toBe(second);
      expect([...ring.byKid.keys()]).toEqual([second]);
      // The environment wins over the file.
      const env = { [VAULT_KEYS_ENV]: readFileSync(file, 'utf8').replace(second, 'from-env').replace(second, 'from-env') };
      expect(loadVaultKeys({ keysDir: dir, env, generate: false }).active.kid).toBe('from-env');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without a key: an error saying what to do (production), a generated file (development)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vault-keys-'));
    try {
      expect(() => loadVaultKeys({ keysDir: dir, env: {}, generate: false })).toThrow(VaultKeysError);
      expect(() => loadVaultKeys({ keysDir: dir, env: {}, generate: false })).toThrow(/BROKER_VAULT_KEYS|vault-key add/u);
      expect(loadVaultKeys({ keysDir: dir, env: {}, generate: true }).active.key).toHaveLength(32);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports each problem with its place, never the key material', () => {
    const short = Buffer.alloc(16, 7).toString('base64url');
    const parsed = parseVaultKeys(JSON.stringify({ format: 'agent-token-broker/vault-keys/v1', active: 'a', keys: [{ kid: 'a', key: short }, { kid: 'bad kid!', key: short }] }), 'keys/vault-keys.json');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toEqual([
      'keys/vault-keys.json: keys[0].key: must be 32 random bytes, base64url',
      'keys/vault-keys.json: keys[1].kid: 1-64 characters of A-Z a-z 0-9 _ -',
    ]);
    expect(parsed.problems.join(' ')).not.toContain(short);
    expect(parseVaultKeys('{', 'x')).toEqual({ ok: false, problems: ['x: not JSON'] });
    const noActive = parseVaultKeys(JSON.stringify({ format: 'agent-token-broker/vault-keys/v1', active: 'zz', keys: [{ kid: 'a', key: Buffer.alloc(32).toString('base64url') }] }), 'x');
    expect(noActive).toEqual({ ok: false, problems: ['x: active must name one of the keys'] });
  });
});
