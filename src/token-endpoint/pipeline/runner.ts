/**
 * Runs the token endpoint's steps in order (the idea of an endpoint as a list of named steps; deciding and
 * issuing kept apart): each step gets the facts established so far and returns new facts or a refusal; the
 * first refusal ends the run. One outcome comes back, `{ established, result }`, which the edge records once
 * and renders once (token-endpoint.ts). No step sees HTTP, and no reason is ever recovered from a string.
 */
import type { Grant } from '../../domain/exchange.js';
import { deny, isDenial } from '../../exchange/reasons.js';
import type { MintedToken } from '../../minting/mint-access-token.js';
import type { Facts } from './facts.js';
import type { TokenHttpRequest } from './http-request.js';
import { refuse, type Refusal, type Step, type StepResult } from './step.js';

/** The token answer: everything a 200 response needs (RFC 8693 §2.2.1). */
export interface Issued {
  readonly kind: 'issued';
  readonly grant: Grant;
  readonly minted: MintedToken;
  /** RFC 9449 §5: `DPoP` when the token is bound to the proof's key. */
  readonly tokenType: 'DPoP' | 'Bearer';
}

/** Issue 17: the onward exchange's answer (a tool identity's upstream credential), RFC 8693 §2.2.1. */
export interface Delivered {
  readonly kind: 'delivered';
  readonly body: Readonly<Record<string, unknown>>;
}

export interface Outcome {
  readonly established: Facts;
  readonly result: Issued | Delivered | Refusal;
}

export type StepOutcome = 'established' | 'refused' | 'failed';

export interface RunnerHooks {
  /** Per-step timing for metrics and tracing; called after every step that ran. */
  readonly onStep?: (name: string, durationMs: number, outcome: StepOutcome) => void;
  /** A step threw (a bug or an unexpected dependency failure): the request is refused as internal_error. */
  readonly onError?: (name: string, err: unknown) => void;
}

function isRefusal(result: StepResult): result is Refusal {
  return (result as { kind?: unknown }).kind === 'refused';
}

const NO_HOOKS: RunnerHooks = {};

type MutableFacts = { -readonly [K in keyof Facts]: Facts[K] };

/** Every member listed (the type makes a new fact in facts.ts a compile error here until it is added). */
function emptyFacts(start: Facts): MutableFacts {
  const facts = {
    requestId: start.requestId, traceId: undefined, form: undefined, clientId: undefined, agent: undefined,
    request: undefined, tool: undefined, dpopJkt: undefined, subject: undefined, subjectFingerprint: undefined,
    actor: undefined, actorFingerprint: undefined, grant: undefined, approval: undefined, stage: undefined,
    budgetClaim: undefined, budget: undefined, minted: undefined, onward: undefined, onwardAnswer: undefined,
  } satisfies Record<keyof Facts, unknown>;
  return Object.assign(facts as MutableFacts, start);
}

/** Whether every fact a step needs is there (a plain loop: no closure per step and request). */
function established(facts: Facts, needs: readonly (keyof Facts)[]): boolean {
  for (let i = 0; i < needs.length; i += 1) if (facts[needs[i] as keyof Facts] === undefined) return false;
  return true;
}

export async function runPipeline<Deps>(
  steps: readonly Step<Deps>[],
  start: Facts,
  request: TokenHttpRequest,
  deps: Deps,
  hooks: RunnerHooks = NO_HOOKS,
): Promise<Outcome> {
  // The one object the facts accumulate in: owned by this run, handed to each step read-only. Created with
  // every member (undefined) in one order, so that every request's facts share one hidden class and a
  // step's facts are stores into existing fields, not a chain of shape transitions per request.
  const facts = emptyFacts(start);
  const timed = hooks.onStep !== undefined;
  for (const step of steps) {
    if (!established(facts, step.needs)) {
      return { established: facts, result: refuse(deny('internal_error', 'the token request could not be processed')) };
    }
    const startedAt = timed ? performance.now() : 0;
    let result: StepResult;
    try {
      const pending = step.run(facts, request, deps);
      // Synchronous steps stay synchronous: no extra microtask per step.
      result = pending instanceof Promise ? await pending : pending;
    } catch (err) {
      hooks.onStep?.(step.name, timed ? performance.now() - startedAt : 0, 'failed');
      hooks.onError?.(step.name, err);
      return { established: facts, result: refuse(deny('internal_error', 'the token request could not be processed')) };
    }
    if (isDenial(result)) {
      hooks.onStep?.(step.name, timed ? performance.now() - startedAt : 0, 'refused');
      return { established: facts, result: refuse(result) };
    }
    if (isRefusal(result)) {
      hooks.onStep?.(step.name, timed ? performance.now() - startedAt : 0, 'refused');
      if (result.established) Object.assign(facts, result.established);
      return { established: facts, result };
    }
    Object.assign(facts, result);
    hooks.onStep?.(step.name, timed ? performance.now() - startedAt : 0, 'established');
    // Issue 17: the onward step answered a tool identity's request; no later step is for it.
    if (facts.onwardAnswer !== undefined) return { established: facts, result: { kind: 'delivered', body: facts.onwardAnswer } };
  }
  const { grant, minted } = facts;
  if (grant === undefined || minted === undefined) {
    return { established: facts, result: refuse(deny('internal_error', 'the token request could not be processed')) };
  }
  return { established: facts, result: { kind: 'issued', grant, minted, tokenType: facts.dpopJkt !== undefined ? 'DPoP' : 'Bearer' } };
}
