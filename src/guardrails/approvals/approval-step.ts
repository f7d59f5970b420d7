/**
 * The approval step of the token exchange (issue 18), after `decide` has narrowed the scopes and bounded the
 * lifetime, before anything is minted. The imperative shell around `decideApproval`: it reads and changes
 * the shared approval store, writes the approval records, and starts the notification. It fails closed:
 * the store unreachable -> `state_unavailable`, a record not durable -> `attribution_unavailable`.
 *
 * CIBA-style polling (CIBA Core §7.3, §11), on the token endpoint itself: a gated exchange gets no token but
 * 400 `authorization_pending` with `approval_id`, `expires_in` and `interval`; the agent repeats the same
 * exchange with `approval_id` and hears `authorization_pending`, `slow_down` (polled too early; the interval
 * grows by 5 s), `access_denied` (rejected), `expired_token` (lapsed), or gets the single-use token.
 */
import type { Tool } from '../../domain/catalog.js';
import type { Grant } from '../../domain/exchange.js';
import { deny, isDenial, type Denial } from '../../exchange/reasons.js';
import { DEFAULT_TOOL_APPROVAL } from '../../config/catalog-approvals.js';
import { parseAuthorizationDetails, type ParsedAuthorizationDetails } from '../authorization-details/parse-authorization-details.js';
import { APPROVED_TOKEN_MAX_TTL_SECONDS, DEFAULT_POLL_INTERVAL_SECONDS, type Approval, type ApprovalTrigger } from './approval.js';
import { approvalRecord, type ApprovalRecord } from './approval-record.js';
import { newApprovalId, type ApprovalStore } from './approval-store.js';
import { decideApproval } from './decide-approval.js';

export interface ApprovalGateDeps {
  readonly store: ApprovalStore;
  /** Appends to the attribution sink; resolves once durable. */
  readonly record: (record: ApprovalRecord) => Promise<void>;
  /** Starts the notification of a new request (the webhook); resolves when it has been sent and recorded. */
  readonly notify?: (approval: Approval, context: { readonly requestId: string }) => Promise<void>;
  readonly now: () => number;
  /** The polling interval given to agents (default 5 s, CIBA Core §7.3). */
  readonly pollIntervalSeconds?: number;
  /** The lapse of a request whose tool sets no `approval.expires_in` (broker.yaml `approvals.default_lifetime`). */
  readonly defaultLifetimeSeconds?: number;
  /** Errors that do not change the answer (a gate counter not written). */
  readonly onError?: (err: unknown, what: string) => void;
}

export interface ApprovalStepInput {
  readonly tool: Tool;
  readonly grant: Grant;
  readonly agentId: string;
  /** The `authorization_details` parameter as sent. */
  readonly rawDetails: string | undefined;
  /** The `approval_id` parameter as sent. */
  readonly approvalId: string | undefined;
  readonly requestId: string;
  readonly callerAddress: string;
}

/**
 * Mint with this grant and these extra claims. For an approval (`approvalId`), call `claimMinted` once the
 * token is signed: it may still refuse (the approval's token was issued meanwhile at another replica).
 */
export interface MintStep {
  readonly step: 'mint';
  readonly grant: Grant;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly details?: ParsedAuthorizationDetails;
  readonly approvalId?: string;
}

/** An OAuth error answer with extra members (`approval_id`, `interval`, `expires_in`): no token. */
export interface AnswerStep {
  readonly step: 'answer';
  readonly denial: Denial;
  readonly members: Readonly<Record<string, string | number>>;
  /** Dry run (explain): why the gate would fire; nothing was opened. */
  readonly triggers?: readonly ApprovalTrigger[];
}

export type ApprovalStepResult = MintStep | AnswerStep | Denial;

const APPROVAL_ID = /^apr_[A-Za-z0-9_-]{24}$/u;

export function createApprovalGate(deps: ApprovalGateDeps) {
  const interval = deps.pollIntervalSeconds ?? DEFAULT_POLL_INTERVAL_SECONDS;
  const inFlight = new Set<Promise<void>>();
  const onError = deps.onError ?? (() => undefined);

  const count = (tool: string, gated: boolean): void => {
    deps.store.countExchange(tool, gated).catch((err: unknown) => { onError(err, 'approval gate counter'); });
  };

  const pendingAnswer = (approval: Approval, nowMs: number, slowDown: boolean): AnswerStep => ({
    step: 'answer',
    denial: slowDown
      ? deny('approval_slow_down', `polled before the interval passed: wait ${approval.intervalSeconds} seconds between polls`)
      : deny('approval_pending', 'this action needs a person\'s approval: poll again with approval_id after interval seconds'),
    members: {
      approval_id: approval.id,
      expires_in: Math.max(0, Math.ceil((approval.expiresAtMs - nowMs) / 1000)),
      interval: approval.intervalSeconds,
    },
  });

  /**
   * `dryRun` (explain, src/guardrails/explain/explain-steps.ts): the same decision with no side effect: no
   * request opened, recorded or notified, no poll paced, no gate statistics counted.
   */
  async function run(input: ApprovalStepInput, options: { readonly dryRun?: boolean } = {}): Promise<ApprovalStepResult> {
    const dryRun = options.dryRun === true;
    const { tool, grant } = input;
    const details = parseAuthorizationDetails(input.rawDetails, tool);
    if (isDenial(details)) return details;
    const nowMs = deps.now();
    if (input.approvalId !== undefined && !APPROVAL_ID.test(input.approvalId)) return deny('approval_unknown', 'approval_id is unknown');

    let approval: Approval | null | undefined;
    if (input.approvalId !== undefined) {
      try {
        approval = await deps.store.get(input.approvalId);
      } catch {
        return deny('state_unavailable', 'the approval cannot be checked right now; try again later');
      }
    }
    const outcome = decideApproval({
      tool, grantedScopes: grant.scopes.granted, details, agent: input.agentId, user: grant.subject,
      ...(input.approvalId !== undefined ? { approvalId: input.approvalId, approval } : {}), nowMs,
    });
    if (isDenial(outcome)) return outcome;
    const claims = details ? { authorization_details: details.canonical } : {};

    switch (outcome.outcome) {
      case 'not_gated':
        if (!dryRun) count(tool.id, false);
        return { step: 'mint', grant: details ? { ...grant, authorizationDetails: details.canonical } : grant, claims, ...(details ? { details } : {}) };

      case 'request': {
        if (dryRun) {
          return { step: 'answer', denial: deny('approval_pending', 'this action needs a person\'s approval (explain: no request was opened)'), members: {}, triggers: outcome.triggers };
        }
        count(tool.id, true);
        const policy = tool.approval ?? DEFAULT_TOOL_APPROVAL;
        const lapseSeconds = policy.lapseDefaulted ? deps.defaultLifetimeSeconds ?? policy.lapseSeconds : policy.lapseSeconds;
        let created: Approval;
        try {
          created = await deps.store.create({
            id: newApprovalId(),
            binding: outcome.binding,
            resource: tool.resource,
            details: details?.canonical ?? [],
            triggers: outcome.triggers,
            approvers: { user: policy.user, roles: Object.fromEntries(policy.roles) },
            createdAtMs: nowMs,
            expiresAtMs: nowMs + lapseSeconds * 1000,
            requestId: input.requestId,
          }, interval);
        } catch {
          return deny('state_unavailable', 'the approval request cannot be stored right now; try again later');
        }
        try {
          await deps.record(approvalRecord(created, 'requested', { nowMs, requestId: input.requestId, callerAddress: input.callerAddress }));
        } catch {
          return deny('attribution_unavailable', 'the attribution log is unavailable; the approval request was not opened');
        }
        if (deps.notify) {
          const sent = deps.notify(created, { requestId: input.requestId }).catch((err: unknown) => { onError(err, 'approval notification'); });
          inFlight.add(sent);
          void sent.finally(() => inFlight.delete(sent));
        }
        return pendingAnswer(created, nowMs, false);
      }

      case 'pending': {
        if (dryRun) return pendingAnswer(outcome.approval, nowMs, false);
        let polled;
        try {
          polled = await deps.store.poll(outcome.approval.id, nowMs);
        } catch {
          return deny('state_unavailable', 'the approval cannot be checked right now; try again later');
        }
        // Decided (or gone) between the read and the poll: the agent hears the news on its next poll.
        return pendingAnswer(polled?.approval ?? outcome.approval, nowMs, polled?.slowDown ?? false);
      }

      case 'approved': {
        const approved = outcome.approval;
        // Single use, and for now: at most a minute, never past the approval's own lapse or the grant's bound.
        const exp = Math.min(grant.exp, grant.iat + APPROVED_TOKEN_MAX_TTL_SECONDS, Math.floor(approved.expiresAtMs / 1000));
        if (exp <= grant.iat) return deny('approval_expired', 'the approval request has lapsed');
        const bounded: Grant = { ...grant, ...(exp < grant.exp ? { exp, lifetimeBoundBy: 'approval_single_use' as const } : {}), ...(details ? { authorizationDetails: details.canonical } : {}) };
        return { step: 'mint', grant: bounded, claims: { ...claims, approval_id: approved.id }, ...(details ? { details } : {}), approvalId: approved.id };
      }
    }
  }

  /** Approved -> minted, once across replicas, and the `minted` record; a refusal means the token must not leave. */
  async function claimMinted(approvalId: string, token: { readonly jti: string; readonly exp: number }, context: { readonly requestId: string; readonly callerAddress: string }): Promise<Denial | null> {
    let claim;
    let approval;
    try {
      claim = await deps.store.claimMint(approvalId, token.jti, deps.now());
      approval = claim.ok ? await deps.store.get(approvalId) : null;
    } catch {
      return deny('state_unavailable', 'the approval cannot be claimed right now; try again later');
    }
    if (!claim.ok) {
      return claim.why === 'expired' ? deny('approval_expired', 'the approval request has lapsed')
        : deny('approval_used', 'the token for this approval has already been issued');
    }
    if (!approval) return deny('state_unavailable', 'the approval cannot be read right now; try again later');
    try {
      await deps.record(approvalRecord(approval, 'minted', { nowMs: deps.now(), ...context, token }));
    } catch {
      return deny('attribution_unavailable', 'the attribution log is unavailable; no token was issued');
    }
    return null;
  }

  return {
    run,
    claimMinted,
    /** Resolves when every notification started so far has finished (tests, graceful shutdown). */
    settled: async (): Promise<void> => { await Promise.all([...inFlight]); },
  };
}

export type ApprovalGate = ReturnType<typeof createApprovalGate>;
