/**
 * An agent's guardrails in the console (issue 18): its rollout stage (declared by its file, or a person's
 * override) and its budgets' use against their limits in the current windows; an operator changes the stage
 * with a reason (the page asks for a confirmation first). Both go through the guardrail admin actions
 * (guardrails/admin/guardrail-actions.ts), which record the change before making it.
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { AgentRegistry } from '../domain/agent.js';
import type { GuardrailActions } from '../guardrails/admin/guardrail-actions.js';
import type { StageStore } from '../guardrails/stages/stage-store.js';
import { actionContext, ConsoleError, readJson, reasonOf } from './console-http.js';

export interface ConsoleGuardrailsDeps {
  readonly actions: GuardrailActions;
  readonly stages: StageStore;
  readonly agents: () => AgentRegistry;
}

export function guardrailRoutes(router: Router, roles: { viewer: Middleware; operator: Middleware }, deps: ConsoleGuardrailsDeps): void {
  router.get('/agents/:id/guardrails', roles.viewer, async (ctx) => {
    const id = String(ctx.params.id);
    const agent = deps.agents().agents.get(id);
    if (!agent) throw new ConsoleError(404, 'unknown_agent', 'no such agent');
    const [override, budgets] = await Promise.all([deps.stages.get(id), deps.actions.budgets(id)]);
    const declared = agent.stage ?? 'autonomous';
    ctx.body = {
      agent: id,
      stage: {
        current: override?.stage ?? declared,
        declared,
        override: override ? { by: override.by, reason: override.reason, at: new Date(override.at * 1000).toISOString() } : null,
      },
      budgets,
    };
  });

  router.post('/agents/:id/stage', roles.operator, async (ctx) => {
    const body = await readJson(ctx);
    ctx.body = await deps.actions.stage(String(ctx.params.id), body.stage, actionContext(ctx, reasonOf(body)));
  });
}
