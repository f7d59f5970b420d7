/**
 * Key rotation against a running production broker, checked with the real validation SDK: the next key is
 * published before it signs, a validator that cached the old JWKS keeps verifying across the rotation, and
 * a retired key leaves the JWKS (and the broker's own introspection) once every token it signed expired.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { runAuditVerify } from '../../src/cli/audit-command.js';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKeysRotate } from '../../src/keys/key-commands.js';
import { TokenValidator } from '../../src/sdk/validator/index.js';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { CRM, exchange, freePort, productionDir, startProduction, type ProductionDir } from '../support/production-broker.js';
import { form, rawPost } from '../support/token-request.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('key rotation on a running production broker', () => {
  let idp: UpstreamIdp;
  let d: ProductionDir;
  let broker: Awaited<ReturnType<typeof startProduction>>;
  let validatorKey: string;
  const validators: TokenValidator[] = [];

  beforeAll(async () => {
    // The IdP's audience is the broker's issuer, which carries the broker's port.
    const port = await freePort();
    idp = await startUpstreamIdp({ audience: `http://127.0.0.1:${String(port)}` });
    const v = await createAdminKey('crm-validator');
    validatorKey = v.key;
    d = await productionDir({
      idpIssuer: idp.issuer, port, toolTtl: '3s',
      extraYaml: ['clock_skew: 1s', 'validator_keys:', `  - { id: crm-validator, hash: "${v.hash}" }`],
    });
    broker = await startProduction(d, { keyReloadMs: 100 });
  }, 30_000);

  let stopped = false;
  afterAll(async () => {
    for (const v of validators) v.close();
    if (!stopped) await broker.stop();
    await idp.close();
  });

  const jwksKids = async () => ((await (await fetch(`${broker.url}/jwks`)).json()) as { keys: { kid: string; d?: string }[] }).keys.map((k) => k.kid);
  const mint = async () => {
    const res = await exchange(broker.url, await idp.userToken('alice'));
    expect(res.status).toBe(200);
    const token = res.body.access_token as string;
    return { token, kid: decodeProtectedHeader(token).kid ?? '' };
  };
  const validator = async () => {
    const v = await TokenValidator.create({ issuer: broker.url, resource: CRM, clockToleranceSeconds: 0, revocation: { key: validatorKey } });
    validators.push(v);
    return v;
  };
  const introspect = async (token: string) => (await rawPost(`${broker.url}/introspect`, form({ token }), { authorization: `Bearer ${validatorKey}` })).body;

  it('keys generate wrote a v1 production key, mode 0600', async () => {
    const names = await readdir(join(d.dir, 'keys'));
    expect(names).toHaveLength(1);
    const path = join(d.dir, 'keys', names[0] ?? '');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({ format: 'agent-token-broker/signing-key/v1', alg: 'ES256', status: 'active' });
    expect(doc.dev).toBeUndefined();
  });

  it('publishes the next key before it signs, keeps old-JWKS validators working, and drops the retired key after its tokens expired', async () => {
    const old = await mint();
    expect(await jwksKids()).toEqual([old.kid]);
    const cachedOld = await validator();
    expect((await cachedOld.validate(`Bearer ${old.token}`)).sub).toBe('alice');   // caches the JWKS {old}

    const lines: string[] = [];
    expect(await runKeysRotate({ keysDir: join(d.dir, 'keys'), activateAfterMs: 1500, out: (l) => lines.push(l), schedule: { maxTokenLifetimeMs: 3000, clockSkewMs: 1000 } })).toBe(0);
    const next = /: (\S+), next:/u.exec(lines[0] ?? '')?.[1];
    expect(next).toBeDefined();

    // Published (within the reload), and not yet signing.
    await until('the next key in the JWKS', async () => (await jwksKids()).includes(next ?? ''));
    expect(await jwksKids()).toEqual([old.kid, next]);
    const beforeActivation = await mint();
    expect(beforeActivation.kid).toBe(old.kid);
    const fresh = await validator();                                                // caches the JWKS {old, next}
    expect((await fresh.validate(`Bearer ${beforeActivation.token}`)).sub).toBe('alice');

    // After activate_at the next key signs; the old one stays published.
    await until('the next key signing', async () => (await mint()).kid === next);
    const signedByNext = await mint();
    expect(await jwksKids()).toEqual([next, old.kid]);
    // The validator that cached the old JWKS keeps verifying the old key's live tokens across the rotation,
    expect((await cachedOld.validate(`Bearer ${beforeActivation.token}`)).sub).toBe('alice');
    // and one that fetched the JWKS after publication verifies the new key's tokens without refetching.
    expect((await fresh.validate(`Bearer ${signedByNext.token}`)).sub).toBe('alice');
    expect(await introspect(beforeActivation.token)).toMatchObject({ active: true });
    expect(await introspect(signedByNext.token)).toMatchObject({ active: true });

    // Retired at activation; published until activation + 3 s (tool max_ttl) + 1 s (clock_skew).
    await until('the retired key leaving the JWKS', async () => !(await jwksKids()).includes(old.kid), 8000);
    expect(await jwksKids()).toEqual([next]);
    // Every spelling oidc-provider's router would take serves the same set (never its static set of the start).
    for (const spelling of ['/JWKS', '/jwks/']) {
      expect(((await (await fetch(`${broker.url}${spelling}`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual([next]);
    }
    // Every token it signed has expired: refused by the validators and by the broker's own introspection.
    await expect(cachedOld.validate(`Bearer ${beforeActivation.token}`)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(fresh.validate(`Bearer ${beforeActivation.token}`)).rejects.toMatchObject({ code: 'invalid_token' });
    expect(await introspect(beforeActivation.token)).toEqual({ active: false });
    expect((await mint()).kid).toBe(next);

    // The attribution checkpoints follow the rotation too: the one written at shutdown is signed by the
    // key signing now, so the log verifies against the JWKS as published now (without the expired key).
    const jwksFile = join(d.dir, 'jwks.json');
    await writeFile(jwksFile, await (await fetch(`${broker.url}/jwks`)).text());
    stopped = true;
    await broker.stop();
    const out: string[] = [];
    expect(await runAuditVerify({ file: join(d.dir, 'data', 'attribution.jsonl'), jwksFile, strict: true, out: (l) => out.push(l) })).toBe(0);
    expect(out.join('\n')).toMatch(/^ok /u);
  }, 30_000);
});
