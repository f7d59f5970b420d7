/**
 * A step of the token endpoint: a small function over the facts established so far (facts.ts), the plain
 * request (http-request.ts) and its dependencies. It returns the facts it established, or ends the request
 * with a refusal. Steps do no HTTP: every one is unit-tested with plain data (test/token-endpoint/steps/).
 */
import type { Denial } from '../../exchange/reasons.js';
import type { Facts, FactName } from './facts.js';
import type { TokenHttpRequest } from './http-request.js';

/** What a step may establish. */
export type Established = Partial<Pick<Facts, FactName>>;

/**
 * A non-token answer that ends the pipeline. Closed on purpose: a Denial (its reason fixes the OAuth
 * `error` and the HTTP status, src/exchange/reasons.ts), plus what the answer needs beyond the error:
 *   - `headers`: `Retry-After` (RFC 9110 §10.2.3), `WWW-Authenticate` (RFC 6749 §5.2);
 *   - `fields`: extra JSON members of the error body, e.g. `interval` for a pending answer
 *     (`authorization_pending`, OpenID CIBA §11 / RFC 8628 §3.5);
 *   - `established`: facts learnt before the refusal, for the record (the client id a wrong secret named,
 *     the fingerprint of a token that did not verify).
 */
export interface Refusal {
  readonly kind: 'refused';
  readonly denial: Denial;
  readonly headers?: Readonly<Record<string, string>>;
  readonly fields?: Readonly<Record<string, string | number>>;
  readonly established?: Established;
}

export function refuse(denial: Denial, extra: Omit<Refusal, 'kind' | 'denial'> = {}): Refusal {
  return { kind: 'refused', denial, ...extra };
}

export type StepResult = Established | Denial | Refusal;

/** A step as the runner sees it: a name (its file name under steps/) and the function. */
export interface Step<Deps> {
  readonly name: string;
  /** Facts this step reads; the runner refuses (internal_error) if an earlier step did not establish them. */
  readonly needs: readonly FactName[];
  run(facts: Facts, request: TokenHttpRequest, deps: Deps): StepResult | Promise<StepResult>;
}

/** The facts a step declared in `needs`, typed as present. */
export type With<N extends FactName> = Facts & { readonly [K in N]-?: NonNullable<Facts[K]> };

/** Declares a step; `run` sees the facts it needs as present (the runner checks them before calling it). */
export function defineStep<Deps, N extends FactName = never>(
  name: string,
  needs: readonly N[],
  run: (facts: With<N>, request: TokenHttpRequest, deps: Deps) => StepResult | Promise<StepResult>,
): Step<Deps> {
  return { name, needs, run: run };
}
