/**
 * Rollout stages (issue 18 §3): an agent earns write access one stage at a time.
 * - `shadow`: every exchange is decided and recorded in full, answered with what would have been granted;
 *   no token is minted.
 * - `read_only`: only scopes the catalog marks `access: read` are granted (others are dropped, recorded).
 * - `supervised`: a grant holding any write scope needs a person's approval first.
 * - `autonomous`: the catalog's rules as they are.
 * A scope without `access` counts as a write scope: an unmarked scope never slips through read_only.
 * Pure: a function of the stage, the tool and the scope outcome of the decision core.
 */
import type { Tool } from '../../domain/catalog.js';
import type { ScopeOutcome } from '../../domain/exchange.js';
import { deny, type Denial } from '../../exchange/reasons.js';

export const STAGES = ['shadow', 'read_only', 'supervised', 'autonomous'] as const;
export type Stage = (typeof STAGES)[number];

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

/** Whether the catalog marks this tool scope as read access (absent or unknown: write). */
export function isReadScope(tool: Tool, scope: string): boolean {
  return tool.scopes.get(scope)?.access === 'read';
}

export type StageOutcome =
  /** Mint with these scopes (read_only may have narrowed them). */
  | { readonly kind: 'proceed'; readonly stage: Stage; readonly scopes: ScopeOutcome }
  /** Decided in full, answered with what would have been granted; nothing minted. */
  | { readonly kind: 'shadow'; readonly stage: 'shadow'; readonly scopes: ScopeOutcome }
  /** supervised: these write scopes need a person's approval before a token can be minted. */
  | { readonly kind: 'approval_required'; readonly stage: 'supervised'; readonly scopes: ScopeOutcome; readonly writeScopes: readonly string[] }
  | (Denial & { readonly stage: Stage });

/** Applies the agent's stage to a granted scope outcome. */
export function applyStage(stage: Stage, tool: Tool, scopes: ScopeOutcome): StageOutcome {
  switch (stage) {
    case 'autonomous':
      return { kind: 'proceed', stage, scopes };
    case 'shadow':
      return { kind: 'shadow', stage, scopes };
    case 'read_only': {
      const kept = scopes.granted.filter((scope) => isReadScope(tool, scope));
      const droppedNow = scopes.granted.filter((scope) => !isReadScope(tool, scope)).map((scope) => ({ scope, reason: 'stage_read_only' as const }));
      const narrowed: ScopeOutcome = { requested: scopes.requested, granted: kept, dropped: [...scopes.dropped, ...droppedNow] };
      if (kept.length === 0) {
        return { ...deny('stage_read_only', 'the agent is in the read_only stage and none of the granted scopes is a read scope'), scopes: narrowed, stage };
      }
      return { kind: 'proceed', stage, scopes: narrowed };
    }
    case 'supervised': {
      const writeScopes = scopes.granted.filter((scope) => !isReadScope(tool, scope));
      if (writeScopes.length === 0) return { kind: 'proceed', stage, scopes };
      return { kind: 'approval_required', stage, scopes, writeScopes };
    }
  }
}
