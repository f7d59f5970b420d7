import { describe, expect, it } from 'vitest';
import { framing } from '../../../src/token-endpoint/steps/framing.js';
import { denialOf, FORM, httpRequest, refusalOf, runStep, START } from './step-kit.js';

const deps = { maxBodyBytes: 64 };

describe('step framing', () => {
  it('parses a form-encoded UTF-8 body into the form, repeated names as arrays', async () => {
    const result = await runStep(framing, START, deps, httpRequest({ body: 'grant_type=x&resource=a&resource=b&scope=%C3%A9' }));
    expect(result).toEqual({ form: expect.objectContaining({ grant_type: 'x', resource: ['a', 'b'], scope: 'é' }) as unknown });
  });

  it('no body at all is an empty form (the later steps say what is missing)', async () => {
    expect(await runStep(framing, START, deps, httpRequest({ contentLength: 0, readBody: () => Promise.resolve(undefined) }))).toEqual({ form: {} });
  });

  it('anything but POST: 400 request_method with Allow: POST', async () => {
    const refused = refusalOf(await runStep(framing, START, deps, httpRequest({ method: 'GET', body: '' })));
    expect(refused?.denial).toMatchObject({ reason: 'request_method', error: 'invalid_request' });
    expect(refused?.headers).toEqual({ Allow: 'POST' });
  });

  it('a URL query, another media type or charset: refused before the body is read', async () => {
    let read = false;
    const readBody = () => { read = true; return Promise.resolve(Buffer.from('')); };
    expect(denialOf(await runStep(framing, START, deps, httpRequest({ querystring: 'a=b', readBody })))?.reason).toBe('request_query_parameters');
    expect(denialOf(await runStep(framing, START, deps, httpRequest({ contentType: 'application/json', readBody })))?.reason).toBe('request_content_type');
    expect(denialOf(await runStep(framing, START, deps, httpRequest({ contentType: `${FORM}; charset=latin1`, readBody })))?.reason).toBe('request_content_type');
    expect(read).toBe(false);
  });

  it('a body over the limit, announced or found while reading: request_too_large', async () => {
    expect(denialOf(await runStep(framing, START, deps, httpRequest({ contentLength: 65, body: 'x' })))?.reason).toBe('request_too_large');
    expect(denialOf(await runStep(framing, START, deps, httpRequest({ contentLength: undefined, body: 'too_large' })))?.reason).toBe('request_too_large');
  });

  it('an invalid UTF-8 sequence, raw or escaped: request_malformed', async () => {
    expect(denialOf(await runStep(framing, START, deps, httpRequest({ body: 'scope=%C3' })))?.reason).toBe('request_malformed');
    expect(denialOf(await runStep(framing, START, deps, httpRequest({ body: Buffer.from([0x61, 0x3d, 0xff]) })))?.reason).toBe('request_malformed');
  });
});
