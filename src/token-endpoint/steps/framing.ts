/**
 * Step `framing` (STANDARDS 1, 10, 14): POST only, a form-encoded UTF-8 body of bounded size and no URL
 * query (framing/framing-rules.ts); the body read here, at most `maxBodyBytes` whatever the framing (chunked
 * bodies included), checked as UTF-8 on its raw bytes (framing/form-encoding.ts), then parsed as the form
 * (RFC 6749 Appendix B; a repeated name becomes an array, judged by the steps that read it).
 */
import { parse } from 'node:querystring';
import type { RawParams } from '../../domain/exchange.js';
import { defineStep, refuse } from '../pipeline/step.js';
import { checkFormEncoding } from './framing/form-encoding.js';
import { checkFraming, tooLarge, type FramingRejection } from './framing/framing-rules.js';

export interface FramingDeps {
  readonly maxBodyBytes: number;
}

function rejected(rejection: FramingRejection) {
  return refuse(rejection.denial, rejection.headers ? { headers: rejection.headers } : {});
}

const EMPTY: RawParams = Object.freeze({});

export const framing = defineStep<FramingDeps>('framing', [], async (_facts, req, deps) => {
  const rejection = checkFraming(req, deps.maxBodyBytes);
  if (rejection) return rejected(rejection);
  const body = await req.readBody(deps.maxBodyBytes);
  if (body === 'too_large') return rejected(tooLarge(deps.maxBodyBytes));
  if (body === undefined) return { form: EMPTY };
  const encoding = checkFormEncoding(body);
  if (encoding) return rejected(encoding);
  // node:querystring returns a null-prototype object: no name reaches Object.prototype.
  return { form: parse(body.toString('utf8')) };
});
