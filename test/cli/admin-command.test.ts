import { describe, expect, it } from 'vitest';
import { adminUrlProblem, ARGV_KEY_REFUSED, resolveAdminTarget } from '../../src/cli/admin-command.js';

describe('adminUrlProblem', () => {
  it('accepts https anywhere and http to loopback only', () => {
    for (const ok of ['https://broker.example.com', 'https://10.0.0.1:9400/', 'http://localhost:9400', 'http://127.0.0.1:9400', 'http://127.1.2.3', 'http://[::1]:9400']) {
      expect(adminUrlProblem(ok), ok).toBeUndefined();
    }
    for (const bad of ['http://broker.example.com', 'http://localhost.evil.example', 'http://127.0.0.1.evil.example', 'http://10.0.0.1', 'http://[::2]', 'ws://localhost', 'file:///etc/passwd', 'broker.example.com', 'https://a:b@broker.example.com']) {
      expect(adminUrlProblem(bad), bad).toBeTypeOf('string');
    }
  });
});

describe('resolveAdminTarget', () => {
  const env = { BROKER_URL: 'https://broker.example.com', BROKER_ADMIN_KEY: 'env.key' };
  const files: Record<string, string> = { '/k': 'file.key\n', '-': ' stdin.key \n', '/two': 'a.b\nc.d\n' };
  const read = (p: string) => { const v = files[p]; if (v === undefined) throw new Error('ENOENT'); return v; };

  it('takes the key from a file or standard input before the environment', () => {
    expect(resolveAdminTarget({ keyFile: '/k' }, env, read)).toEqual({ url: env.BROKER_URL, key: 'file.key' });
    expect(resolveAdminTarget({ keyFile: '-' }, env, read)).toEqual({ url: env.BROKER_URL, key: 'stdin.key' });
    expect(resolveAdminTarget({}, env, read)).toEqual({ url: env.BROKER_URL, key: 'env.key' });
    expect(resolveAdminTarget({ url: 'http://localhost:9400' }, env, read).url).toBe('http://localhost:9400');
  });

  it('refuses a key in argv, whatever else is there', () => {
    expect(() => resolveAdminTarget({ argvKey: 'x.y' }, env, read)).toThrow(ARGV_KEY_REFUSED);
  });

  it('refuses a multi-line key file, a missing file and plain http elsewhere', () => {
    expect(() => resolveAdminTarget({ keyFile: '/two' }, env, read)).toThrow(/one line/u);
    expect(() => resolveAdminTarget({ keyFile: '/none' }, env, read)).toThrow(/cannot read the admin key from \/none/u);
    expect(() => resolveAdminTarget({ url: 'http://broker.example.com' }, env, read)).toThrow(/use https/u);
    expect(() => resolveAdminTarget({}, {}, read)).toThrow(/URL is required/u);
  });
});
