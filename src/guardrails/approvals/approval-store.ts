/**
 * Where approval requests live while a person decides (issue 18): shared by every replica (Redis), or in
 * memory in the development default. Every state change is one atomic step, so two replicas (or two
 * approvers) racing on one approval see exactly one winner. Rejections mean the state is unknown: the
 * exchange then fails closed (`state_unavailable`), the admin API answers 503.
 */
import { randomBytes } from 'node:crypto';
import { SLOW_DOWN_STEP_SECONDS, type Approval, type ApprovalDecisionMade, type ApprovalRequest } from './approval.js';

export type DecideResult = { readonly ok: true; readonly approval: Approval } | { readonly ok: false; readonly why: 'not_found' | 'expired' | 'already_decided'; readonly approval?: Approval };
export type PollResult = { readonly approval: Approval; readonly slowDown: boolean };
export type MintClaim = { readonly ok: true } | { readonly ok: false; readonly why: 'not_found' | 'expired' | 'not_approved' };

/**
 * A tool's report about the approved token (approval-use.ts): `first` (the use is new: record it), `retry`
 * (this very report again: nothing to record), `again` (another use of a used token: record a replay),
 * or why it cannot be about this approval.
 */
export type UseReport = { readonly kind: 'used' | 'replayed'; readonly jti: string; readonly useId: string; readonly by: string; readonly atMs: number };
export type UseResult = 'first' | 'retry' | 'again' | 'not_found' | 'not_minted' | 'other_token';

/** Per tool: exchanges the gate looked at, and how many of them it gated. */
export type GateStats = Readonly<Record<string, { readonly exchanges: number; readonly gated: number }>>;

export interface ApprovalStore {
  /** Stores a new pending request (polling interval and first poll time given). */
  create(request: ApprovalRequest, intervalSeconds: number): Promise<Approval>;
  get(id: string): Promise<Approval | null>;
  /** Pending -> approved/rejected, once, before the lapse. */
  decide(id: string, status: 'approved' | 'rejected', made: ApprovalDecisionMade): Promise<DecideResult>;
  /** Records a poll of a pending request: `slowDown` when it came before `nextPollAtMs` (the interval grows). */
  poll(id: string, nowMs: number): Promise<PollResult | null>;
  /** Approved -> minted, once: the claim that makes the approved token single-issue across replicas. */
  claimMint(id: string, jti: string, nowMs: number): Promise<MintClaim>;
  /** A tool reports a use (or a refused replay) of the approval's token; idempotent per `useId`. */
  recordUse(id: string, report: UseReport): Promise<UseResult>;
  /** The newest requests, newest first (at most `limit`), optionally only those with one status. */
  list(options: { readonly status?: Approval['status']; readonly limit: number; readonly nowMs: number }): Promise<Approval[]>;
  /** Counts one exchange the gate looked at (and whether it gated it). */
  countExchange(tool: string, gated: boolean): Promise<void>;
  stats(): Promise<GateStats>;
}

/** Kept this long after the lapse, so a late poll still hears `expired_token` instead of "unknown". */
export const APPROVAL_RETENTION_MS = 60 * 60 * 1000;

export function newApprovalId(): string {
  return `apr_${randomBytes(18).toString('base64url')}`;
}

/** The pure state changes both stores apply (the Redis store runs the same rules in Lua). */
export function decideTransition(approval: Approval, status: 'approved' | 'rejected', made: ApprovalDecisionMade): DecideResult {
  if (approval.status !== 'pending') return { ok: false, why: 'already_decided', approval };
  if (made.atMs >= approval.expiresAtMs) return { ok: false, why: 'expired', approval };
  return { ok: true, approval: { ...approval, status, decision: made } };
}

export function pollTransition(approval: Approval, nowMs: number): PollResult {
  if (approval.status !== 'pending') return { approval, slowDown: false };
  const slowDown = nowMs < approval.nextPollAtMs;
  const intervalSeconds = approval.intervalSeconds + (slowDown ? SLOW_DOWN_STEP_SECONDS : 0);
  return { approval: { ...approval, intervalSeconds, nextPollAtMs: nowMs + intervalSeconds * 1000 }, slowDown };
}

export function mintTransition(approval: Approval, jti: string, nowMs: number): { approval: Approval; claim: MintClaim } {
  if (approval.status !== 'approved') return { approval, claim: { ok: false, why: 'not_approved' } };
  if (nowMs >= approval.expiresAtMs) return { approval, claim: { ok: false, why: 'expired' } };
  return { approval: { ...approval, status: 'minted', mintedJti: jti }, claim: { ok: true } };
}

/** The pure use transition (the Redis store runs the same rules in Lua); `seen` holds the use ids reported. */
export function useTransition(approval: Approval, report: UseReport, seen: Set<string>): { approval: Approval; result: UseResult } {
  if (approval.status !== 'minted' || approval.mintedJti === undefined) return { approval, result: 'not_minted' };
  if (approval.mintedJti !== report.jti) return { approval, result: 'other_token' };
  if (seen.has(report.useId)) return { approval, result: 'retry' };
  seen.add(report.useId);
  if (report.kind === 'used' && approval.used === undefined) return { approval: { ...approval, used: { atMs: report.atMs, by: report.by } }, result: 'first' };
  return { approval, result: 'again' };
}

export class MemoryApprovalStore implements ApprovalStore {
  readonly #approvals = new Map<string, Approval>();
  readonly #uses = new Map<string, Set<string>>();
  readonly #stats = new Map<string, { exchanges: number; gated: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  create(request: ApprovalRequest, intervalSeconds: number): Promise<Approval> {
    this.#dropExpired();
    const approval: Approval = { ...request, status: 'pending', intervalSeconds, nextPollAtMs: request.createdAtMs + intervalSeconds * 1000 };
    this.#approvals.set(request.id, approval);
    return Promise.resolve(approval);
  }

  get(id: string): Promise<Approval | null> {
    return Promise.resolve(this.#approvals.get(id) ?? null);
  }

  decide(id: string, status: 'approved' | 'rejected', made: ApprovalDecisionMade): Promise<DecideResult> {
    const approval = this.#approvals.get(id);
    if (!approval) return Promise.resolve({ ok: false, why: 'not_found' });
    const result = decideTransition(approval, status, made);
    if (result.ok) this.#approvals.set(id, result.approval);
    return Promise.resolve(result);
  }

  poll(id: string, nowMs: number): Promise<PollResult | null> {
    const approval = this.#approvals.get(id);
    if (!approval) return Promise.resolve(null);
    const result = pollTransition(approval, nowMs);
    this.#approvals.set(id, result.approval);
    return Promise.resolve(result);
  }

  claimMint(id: string, jti: string, nowMs: number): Promise<MintClaim> {
    const approval = this.#approvals.get(id);
    if (!approval) return Promise.resolve({ ok: false, why: 'not_found' });
    const result = mintTransition(approval, jti, nowMs);
    this.#approvals.set(id, result.approval);
    return Promise.resolve(result.claim);
  }

  recordUse(id: string, report: UseReport): Promise<UseResult> {
    const approval = this.#approvals.get(id);
    if (!approval) return Promise.resolve('not_found');
    const seen = this.#uses.get(id) ?? new Set<string>();
    const { approval: next, result } = useTransition(approval, report, seen);
    this.#uses.set(id, seen);
    this.#approvals.set(id, next);
    return Promise.resolve(result);
  }

  list(options: { readonly status?: Approval['status']; readonly limit: number; readonly nowMs: number }): Promise<Approval[]> {
    this.#dropExpired();
    const all = [...this.#approvals.values()].reverse().filter((a) => options.status === undefined || a.status === options.status);
    return Promise.resolve(all.slice(0, options.limit));
  }

  countExchange(tool: string, gated: boolean): Promise<void> {
    const entry = this.#stats.get(tool) ?? { exchanges: 0, gated: 0 };
    entry.exchanges += 1;
    if (gated) entry.gated += 1;
    this.#stats.set(tool, entry);
    return Promise.resolve();
  }

  stats(): Promise<GateStats> {
    return Promise.resolve(Object.fromEntries([...this.#stats].map(([tool, entry]) => [tool, { ...entry }])));
  }

  #dropExpired(): void {
    const cutoff = this.now() - APPROVAL_RETENTION_MS;
    for (const [id, approval] of this.#approvals) {
      if (approval.expiresAtMs < cutoff) { this.#approvals.delete(id); this.#uses.delete(id); }
    }
  }
}
