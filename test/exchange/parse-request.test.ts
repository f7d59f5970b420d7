import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TOKEN_TYPE, type RawParams } from '../../src/domain/exchange.js';
import { parseExchangeRequest } from '../../src/exchange/parse-request.js';
import { isDenial, type DenialReason } from '../../src/exchange/reasons.js';
import { LIMITS } from './fixtures.js';

const BASE: RawParams = {
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln',
  subject_token_type: TOKEN_TYPE.accessToken,
  resource: 'https://crm.example.com/api',
  scope: 'crm.read',
};

function parse(overrides: Record<string, string | readonly string[] | undefined>) {
  return parseExchangeRequest({ ...BASE, ...overrides }, LIMITS);
}

function reasonOf(overrides: Record<string, string | readonly string[] | undefined>): DenialReason | 'ok' {
  const result = parse(overrides);
  return isDenial(result) ? result.reason : 'ok';
}

function accepted(overrides: Record<string, string | readonly string[] | undefined>) {
  const result = parse(overrides);
  if (isDenial(result)) throw new Error(`expected a request, got ${result.reason}`);
  return result;
}

describe('parseExchangeRequest: a well-formed request', () => {
  it('parses the minimal request with defaults', () => {
    const request = accepted({ scope: undefined, resource: undefined });
    expect(request).toEqual({
      subjectToken: BASE.subject_token,
      subjectTokenType: TOKEN_TYPE.accessToken,
      resources: [],
      audiences: [],
      scopes: [],
      requestedTokenType: TOKEN_TYPE.accessToken,
    });
    expect('actorToken' in request).toBe(false);
  });

  it('accepts jwt as subject, actor and requested token type', () => {
    const request = accepted({
      subject_token_type: TOKEN_TYPE.jwt,
      actor_token: 'actor.jwt.value',
      actor_token_type: TOKEN_TYPE.jwt,
      requested_token_type: TOKEN_TYPE.jwt,
    });
    expect(request.subjectTokenType).toBe(TOKEN_TYPE.jwt);
    expect(request.actorToken).toBe('actor.jwt.value');
    expect(request.actorTokenType).toBe(TOKEN_TYPE.jwt);
    expect(request.requestedTokenType).toBe(TOKEN_TYPE.jwt);
  });

  it('treats an empty value as omitted', () => {
    const request = accepted({ scope: '', requested_token_type: '', actor_token: '', actor_token_type: '' });
    expect(request.scopes).toEqual([]);
    expect(request.requestedTokenType).toBe(TOKEN_TYPE.accessToken);
    expect(request.actorToken).toBeUndefined();
  });

  it('ignores unknown parameters, including prototype-looking names', () => {
    const request = accepted({
      expires_in: '999999',
      foo: ['a', 'b'],
      constructor: 'x',
      toString: 'y',
      __proto__: 'z',
    });
    expect(request.scopes).toEqual(['crm.read']);
    expect(JSON.stringify(request)).not.toContain('999999');
  });

  it('does not read single-valued parameters from the prototype chain', () => {
    const params = Object.create({ subject_token: 'inherited' }) as Record<string, string>;
    params.subject_token_type = TOKEN_TYPE.accessToken;
    const result = parseExchangeRequest(params, LIMITS);
    expect(isDenial(result) && result.reason).toBe('subject_token_missing');
  });
});

describe('parseExchangeRequest: tokens', () => {
  it('requires subject_token', () => {
    expect(reasonOf({ subject_token: undefined })).toBe('subject_token_missing');
    expect(reasonOf({ subject_token: '' })).toBe('subject_token_missing');
  });

  it('requires subject_token_type and says so', () => {
    for (const value of [undefined, '']) {
      const result = parse({ subject_token_type: value });
      expect(isDenial(result) && result.reason).toBe('subject_token_type_unsupported');
      expect(isDenial(result) && result.description).toMatch(/required/u);
    }
  });

  it.each([
    TOKEN_TYPE.idToken,
    TOKEN_TYPE.refreshToken,
    'urn:ietf:params:oauth:token-type:saml2',
    'urn:ietf:params:oauth:token-type:saml1',
    'urn:example:unknown',
    'URN:IETF:PARAMS:OAUTH:TOKEN-TYPE:ACCESS_TOKEN',
    `${TOKEN_TYPE.accessToken} `,
    'access_token',
  ])('refuses subject_token_type %s', (type) => {
    expect(reasonOf({ subject_token_type: type })).toBe('subject_token_type_unsupported');
  });

  it('requires actor_token and actor_token_type together', () => {
    expect(reasonOf({ actor_token: 'a.b.c' })).toBe('actor_token_type_mismatch');
    expect(reasonOf({ actor_token_type: TOKEN_TYPE.jwt })).toBe('actor_token_type_mismatch');
    expect(reasonOf({ actor_token: 'a.b.c', actor_token_type: '' })).toBe('actor_token_type_mismatch');
    expect(reasonOf({ actor_token: '', actor_token_type: TOKEN_TYPE.jwt })).toBe('actor_token_type_mismatch');
  });

  it.each([TOKEN_TYPE.idToken, TOKEN_TYPE.refreshToken, 'urn:ietf:params:oauth:token-type:saml2', 'x'])(
    'refuses actor_token_type %s',
    (type) => {
      expect(reasonOf({ actor_token: 'a.b.c', actor_token_type: type })).toBe('actor_token_type_unsupported');
    },
  );

  it('bounds the size of both tokens', () => {
    const max = 'a'.repeat(LIMITS.maxTokenChars);
    const over = `${max}a`;
    expect(reasonOf({ subject_token: max })).toBe('ok');
    expect(reasonOf({ subject_token: over })).toBe('token_too_large');
    expect(reasonOf({ actor_token: max, actor_token_type: TOKEN_TYPE.jwt })).toBe('ok');
    expect(reasonOf({ actor_token: over, actor_token_type: TOKEN_TYPE.jwt })).toBe('token_too_large');
  });

  it('never echoes a token in a description', () => {
    const secret = 'SECRET'.repeat(2000);
    const results = [
      parse({ subject_token: secret }),
      parse({ subject_token: 'SECRET-SUBJECT', subject_token_type: 'SECRET-TYPE' }),
      parse({ actor_token: secret, actor_token_type: TOKEN_TYPE.jwt }),
      parse({ actor_token: 'SECRET-ACTOR' }),
    ];
    for (const result of results) {
      expect(isDenial(result)).toBe(true);
      expect(isDenial(result) && result.description).not.toContain('SECRET');
    }
  });
});

describe('parseExchangeRequest: requested_token_type', () => {
  it.each([TOKEN_TYPE.refreshToken, TOKEN_TYPE.idToken, 'urn:ietf:params:oauth:token-type:saml2', 'jwt'])(
    'refuses %s',
    (type) => {
      expect(reasonOf({ requested_token_type: type })).toBe('requested_token_type_unsupported');
    },
  );

  it('accepts access_token explicitly', () => {
    expect(accepted({ requested_token_type: TOKEN_TYPE.accessToken }).requestedTokenType).toBe(TOKEN_TYPE.accessToken);
  });
});

describe('parseExchangeRequest: scope', () => {
  it('splits on single spaces, collapses duplicates and keeps first-seen order', () => {
    expect(accepted({ scope: 'b a b c a' }).scopes).toEqual(['b', 'a', 'c']);
    expect(accepted({ scope: 'crm:read!#$%&\'()*+,-./;<=>?@[]^_`{|}~' }).scopes).toHaveLength(1);
  });

  it.each([
    ['tab separator', 'crm.read\tcrm.write'],
    ['double space', 'crm.read  crm.write'],
    ['leading space', ' crm.read'],
    ['trailing space', 'crm.read '],
    ['only a space', ' '],
    ['non-breaking space separator', 'crm.read\u00a0crm.write'],
    ['non-breaking space inside', 'crm\u00a0read'],
    ['Cyrillic look-alike letters', 'crm.r\u0435\u0430d'],
    ['full-width letters', '\uff43rm.read'],
    ['double quote', 'crm."read"'],
    ['backslash', 'crm\\read'],
    ['newline', 'crm.read\ncrm.write'],
    ['carriage return', 'crm.read\r'],
    ['NUL', 'crm.read\u0000'],
    ['DEL', 'crm.read\u007f'],
    ['zero-width space', 'crm.read\u200b'],
  ])('refuses %s', (_name, scope) => {
    expect(reasonOf({ scope })).toBe('scope_syntax');
  });

  it('limits the number of distinct scopes, not the number of repeats', () => {
    const names = Array.from({ length: LIMITS.maxScopes }, (_, i) => `s${i}`);
    expect(accepted({ scope: names.join(' ') }).scopes).toHaveLength(LIMITS.maxScopes);
    expect(accepted({ scope: [...names, ...names].join(' ') }).scopes).toHaveLength(LIMITS.maxScopes);
    expect(reasonOf({ scope: [...names, 'one-more'].join(' ') })).toBe('scope_too_many');
  });

  it('does not echo the scope value', () => {
    const result = parse({ scope: 'ECHO\tME' });
    expect(isDenial(result) && result.description).not.toContain('ECHO');
  });
});

describe('parseExchangeRequest: resource and audience', () => {
  it('turns a single value into a list and keeps repeats as sent', () => {
    expect(accepted({ resource: 'https://a.example' }).resources).toEqual(['https://a.example']);
    expect(accepted({ resource: ['https://a.example', 'https://b.example'] }).resources).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
    expect(accepted({ audience: ['crm', 'billing'] }).audiences).toEqual(['crm', 'billing']);
  });

  it('drops empty values', () => {
    expect(accepted({ resource: '' }).resources).toEqual([]);
    expect(accepted({ resource: ['', 'https://a.example', ''] }).resources).toEqual(['https://a.example']);
    expect(accepted({ audience: ['', ''] }).audiences).toEqual([]);
  });
});

describe('parseExchangeRequest: repeated single-valued parameters', () => {
  it.each(['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'scope'])(
    'refuses %s as an array',
    (name) => {
      const result = parse({ actor_token: 'a.b.c', actor_token_type: TOKEN_TYPE.jwt, [name]: ['x', 'y'] });
      expect(isDenial(result) && result.reason).toBe('request_malformed');
      expect(isDenial(result) && result.error).toBe('invalid_request');
    },
  );

  it('refuses non-string values that slip past the type', () => {
    const params = { ...BASE, resource: [42] } as unknown as RawParams;
    const result = parseExchangeRequest(params, LIMITS);
    expect(isDenial(result) && result.reason).toBe('request_malformed');
  });
});

describe('parseExchangeRequest: properties', () => {
  const value = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(...Object.values(TOKEN_TYPE), ''),
    fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
  );
  const params = fc.record(
    {
      subject_token: value,
      subject_token_type: value,
      actor_token: value,
      actor_token_type: value,
      requested_token_type: value,
      scope: value,
      resource: value,
      audience: value,
    },
    { requiredKeys: [] },
  );

  it('always returns a request or an ASCII denial that echoes no parameter value', () => {
    fc.assert(
      fc.property(params, (raw) => {
        const result = parseExchangeRequest(raw, { ...LIMITS, maxTokenChars: 30 });
        if (!isDenial(result)) {
          expect(result.subjectToken.length).toBeGreaterThan(0);
          expect(new Set(result.scopes).size).toBe(result.scopes.length);
          return;
        }
        expect(result.description).toMatch(/^[\x20-\x7e]+$/u);
        for (const v of Object.values(raw).flat()) {
          if (v.length >= 12) expect(result.description).not.toContain(v);
        }
      }),
      { numRuns: 500 },
    );
  });
});
