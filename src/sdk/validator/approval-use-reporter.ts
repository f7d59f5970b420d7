/**
 * Reports the use of an approved single-use token to the broker (issue 18), so the attribution log holds
 * the whole chain: requested, approved, minted, **used** (or replayed). `POST <issuer>/approvals/<id>/used`,
 * form `token`, `outcome` (`used` | `replayed`), `use_id`, authenticated with a validator key
 * (`Authorization: Bearer <id>.<secret>`, as the revocation feed). A retry sends the same `use_id`: the
 * broker records each use once. The broker answers 409 when it has already seen another accepted use of the
 * token (a tool whose replicas do not share one replay store): the guard then refuses the call.
 *
 *   const guard = new ActionGuard({ replayStore, reportUse: brokerUseReporter({ issuer, key: process.env.VALIDATOR_KEY! }) });
 */
import { randomBytes } from 'node:crypto';

export interface ApprovalUse {
  readonly approvalId: string;
  /** The approved token itself (the broker verifies it is the approval's one token). */
  readonly token: string;
  readonly outcome: 'used' | 'replayed';
  /** Random per use; the same on every retry of one report. */
  readonly useId: string;
}

/** `recorded` (or already recorded), or `already_used`: the broker saw another accepted use of this token. */
export type UseReportAnswer = 'recorded' | 'already_used';
export type UseReporter = (use: ApprovalUse) => Promise<UseReportAnswer>;

export interface BrokerUseReporterOptions {
  /** The broker's issuer identifier (its base URL). */
  readonly issuer: string;
  /** A validator key, `<id>.<secret>`. */
  readonly key: string;
  /** Per attempt (default 2000 ms). */
  readonly timeoutMs?: number;
  /** Attempts before giving up (default 3); each retry carries the same use_id. */
  readonly attempts?: number;
}

export function newUseId(): string {
  return randomBytes(18).toString('base64url');
}

export function brokerUseReporter(opts: BrokerUseReporterOptions): UseReporter {
  const base = opts.issuer.replace(/\/+$/u, '');
  const attempts = Math.max(1, opts.attempts ?? 3);
  return async (use) => {
    let last: unknown;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      try {
        const res = await fetch(`${base}/approvals/${encodeURIComponent(use.approvalId)}/used`, {
          method: 'POST',
          redirect: 'error',
          headers: { authorization: `Bearer ${opts.key}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: use.token, outcome: use.outcome, use_id: use.useId }).toString(),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 2000),
        });
        await res.body?.cancel();
        if (res.status === 200) return 'recorded';
        if (res.status === 409) return 'already_used';
        // 4xx other than 409: the report itself is wrong; retrying the same report cannot help.
        if (res.status < 500) throw new Error(`the broker refused the use report (${String(res.status)})`);
        last = new Error(`the broker answered ${String(res.status)}`);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('the broker refused')) throw err;
        last = err;
      }
      if (attempt + 1 < attempts) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
    throw last instanceof Error ? last : new Error('the use report failed');
  };
}
