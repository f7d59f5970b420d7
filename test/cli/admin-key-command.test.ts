/** `broker admin-key`: new keys with roles or as validator keys, and the migration of existing keys (--rehash). */
import { describe, expect, it } from 'vitest';
import { adminKeyCommand } from '../../src/cli/admin-command.js';
import { keyTable } from '../../src/auth/key-check.js';

const hashOf = (out: string) => /^hash: (\S+)$/mu.exec(out)?.[1] ?? '';

describe('broker admin-key', () => {
  it('prints a key and the admin_keys entry with its role', async () => {
    const out = await adminKeyCommand({ id: 'auditor', role: 'viewer' });
    const key = /^key: {2}(\S+)$/mu.exec(out)?.[1] ?? '';
    expect(out).toContain('admin_keys:\n  - id: auditor\n');
    expect(out).toContain('role: viewer');
    expect(keyTable([{ id: 'auditor', hash: hashOf(out) }]).check('auditor', key.slice('auditor.'.length)).ok).toBe(true);
  });

  it('prints a validator_keys entry with --validator', async () => {
    expect(await adminKeyCommand({ id: 'crm-service', validator: true })).toContain('validator_keys:\n  - id: crm-service\n');
  });

  it('--rehash: the same key, in the keyed-hash form this version checks (the key itself is not printed again)', async () => {
    const original = /^key: {2}(\S+)$/mu.exec(await adminKeyCommand({ id: 'oncall' }))?.[1] ?? '';
    const out = await adminKeyCommand({ rehash: `${original}\n` });
    expect(out).not.toContain(original.slice('oncall.'.length));
    expect(keyTable([{ id: 'oncall', hash: hashOf(out) }]).check('oncall', original.slice('oncall.'.length)).ok).toBe(true);
  });

  it('refuses a bad id, a bad role and input that is not a key', async () => {
    await expect(adminKeyCommand({ id: 'has space' })).rejects.toThrow(/--id/u);
    await expect(adminKeyCommand({ id: 'a', role: 'root' })).rejects.toThrow(/--role/u);
    await expect(adminKeyCommand({ rehash: 'not-a-key' })).rejects.toThrow(/standard input/u);
  });
});
