import { describe, expect, it } from 'vitest';
import { TOKEN_EXCHANGE_GRANT, TOKEN_TYPE, type RawParams } from '../../../src/domain/exchange.js';
import { parse } from '../../../src/token-endpoint/steps/parse.js';
import { LIMITS } from '../../exchange/fixtures.js';
import { denialOf, runStep, START } from './step-kit.js';

const good: RawParams = {
  grant_type: TOKEN_EXCHANGE_GRANT, subject_token: 'a.b.c', subject_token_type: TOKEN_TYPE.accessToken,
  resource: 'https://crm.example.com/api', scope: 'crm.read crm.write', client_id: 'ignored', unknown: ['x', 'y'],
};
const parsed = (form: RawParams) => runStep(parse, { ...START, form }, { limits: LIMITS });

describe('step parse', () => {
  it('reads the RFC 8693 request; names it does not know, repeated or not, are ignored', async () => {
    expect(await parsed(good)).toEqual({
      request: {
        subjectToken: 'a.b.c', subjectTokenType: TOKEN_TYPE.accessToken, resources: ['https://crm.example.com/api'], audiences: [],
        scopes: ['crm.read', 'crm.write'], requestedTokenType: TOKEN_TYPE.accessToken,
      },
    });
  });

  it('grant_type missing or repeated: request_malformed; another grant: unsupported_grant_type', async () => {
    const { grant_type: _omitted, ...without } = good;
    expect(denialOf(await parsed(without))).toMatchObject({ reason: 'request_malformed', error: 'invalid_request' });
    expect(denialOf(await parsed({ ...good, grant_type: '' }))?.reason).toBe('request_malformed');
    expect(denialOf(await parsed({ ...good, grant_type: [TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_GRANT] }))?.reason).toBe('request_malformed');
    expect(denialOf(await parsed({ ...good, grant_type: 'client_credentials' }))).toMatchObject({ reason: 'unsupported_grant_type', error: 'unsupported_grant_type' });
  });

  it('a repeated single-valued parameter: request_malformed naming it (never its value)', async () => {
    const denial = denialOf(await parsed({ ...good, subject_token: ['secret-one', 'secret-two'] }));
    expect(denial).toMatchObject({ reason: 'request_malformed', description: 'subject_token parameter must not be provided twice' });
  });

  it('a scope outside the RFC 6749 §3.3 syntax: scope_syntax (invalid_scope)', async () => {
    expect(denialOf(await parsed({ ...good, scope: 'crm.read\tcrm.write' }))).toMatchObject({ reason: 'scope_syntax', error: 'invalid_scope' });
  });

  it('the exchange parameters are judged by the pure parser (subject_token missing)', async () => {
    expect(denialOf(await parsed({ ...good, subject_token: '' }))?.reason).toBe('subject_token_missing');
  });
});
