/** Plain-data inputs for the token endpoint's steps: no HTTP server, the step called directly. */
import type { Facts } from '../../../src/token-endpoint/pipeline/facts.js';
import type { TokenHttpRequest } from '../../../src/token-endpoint/pipeline/http-request.js';
import type { Step, StepResult } from '../../../src/token-endpoint/pipeline/step.js';
import { isDenial, type Denial } from '../../../src/exchange/reasons.js';
import type { Refusal } from '../../../src/token-endpoint/pipeline/step.js';

export const FORM = 'application/x-www-form-urlencoded';

export function httpRequest(overrides: Partial<TokenHttpRequest> & { body?: string | Buffer } = {}): TokenHttpRequest {
  const { body, ...rest } = overrides;
  const bytes = body === 'too_large' ? body : typeof body === 'string' ? Buffer.from(body) : body;
  return {
    method: 'POST', querystring: '', contentType: FORM,
    contentLength: Buffer.isBuffer(bytes) ? bytes.length : undefined,
    authorization: undefined, origin: undefined, rawHeaders: [], address: '192.0.2.10',
    readBody: () => Promise.resolve(bytes),
    ...rest,
  };
}

export const START: Facts = { requestId: 'req-1' };

export async function runStep<D>(step: Step<D>, facts: Facts, deps: D, req: TokenHttpRequest = httpRequest()): Promise<StepResult> {
  return step.run(facts, req, deps);
}

/** The denial of a result, whether returned bare or as a refusal with extras. */
export function denialOf(result: StepResult): Denial | undefined {
  if (isDenial(result)) return result;
  return (result as Partial<Refusal>).kind === 'refused' ? (result as Refusal).denial : undefined;
}

export function refusalOf(result: StepResult): Refusal | undefined {
  return (result as Partial<Refusal>).kind === 'refused' ? (result as Refusal) : undefined;
}
