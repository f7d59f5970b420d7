import { describe, expect, it } from 'vitest';
import { hashSecrets, splitSecrets } from '../../src/cli/hash-secret-command.js';
import { verifyClientSecret } from '../../src/provider/client-secret-hash.js';

describe('broker hash-secret', () => {
  it('hashes one secret per line, in order (LF or CRLF, blank lines skipped)', async () => {
    const input = 'first-secret-0123456789\r\n\nsecond-secret-0123456789\nthird secret with spaces!\n';
    expect(splitSecrets(input).map((s) => s.line)).toEqual([1, 3, 4]);
    const result = await hashSecrets(input);
    if (!result.ok) throw new Error(result.message);
    expect(result.hashes).toHaveLength(3);
    expect(await verifyClientSecret(result.hashes[0] ?? '', 'first-secret-0123456789')).toBe(true);
    expect(await verifyClientSecret(result.hashes[1] ?? '', 'second-secret-0123456789')).toBe(true);
    expect(await verifyClientSecret(result.hashes[2] ?? '', 'third secret with spaces!')).toBe(true);
  });

  it('still takes a single secret with or without a final newline', async () => {
    for (const input of ['only-one-secret-0123456789', 'only-one-secret-0123456789\n']) {
      const result = await hashSecrets(input);
      expect(result.ok && result.hashes.length).toBe(1);
    }
  });

  it('refuses short secrets by line number, never echoing them', async () => {
    const result = await hashSecrets('long-enough-secret-0123\nshort\n');
    expect(result).toEqual({ ok: false, message: 'the secret must be at least 16 characters (line 2)' });
    expect(await hashSecrets('\n\n')).toEqual({ ok: false, message: 'no secret on standard input (one per line)' });
  });
});
