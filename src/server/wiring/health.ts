/**
 * `/healthz` (the process answers) and `/readyz` (it may mint: the attribution disk has room, the shared state
 * answers and the agent-status mirror is fresh; otherwise 503, so that a load balancer sends nothing here).
 */
import Router from '@koa/router';
import { FreeSpaceMonitor } from '../../attribution/free-space.js';
import type { Provider } from '../../provider/oidc-provider.js';
import type { AgentStatusView } from '../../state/agent-status.js';
import type { WiringContext } from './context.js';

/** The attribution disk's free space, watched when the log is a file (attribution/free-space.ts). */
export function createDiskMonitor({ deps, config, log }: WiringContext): FreeSpaceMonitor | undefined {
  const minFree = config.attribution.sink === 'redis' ? undefined : config.attribution.minFreeBytes;
  return minFree === undefined ? undefined : new FreeSpaceMonitor({ file: config.attribution.file, minFreeBytes: minFree, log, ...(deps.statfs ? { statfs: deps.statfs } : {}) });
}

export function mountHealth(provider: Provider, { state }: WiringContext, parts: { readonly disk: FreeSpaceMonitor | undefined; readonly agentStatus: AgentStatusView }): void {
  const { disk, agentStatus } = parts;
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    // A named check of its own: the attribution disk (attribution/free-space.ts).
    const attributionDisk = await disk?.check();
    if (attributionDisk && !attributionDisk.ok) {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', state: state.kind, reason: attributionDisk.reason, checks: { attribution_disk: attributionDisk } };
      return;
    }
    try {
      await state.ping();
      await agentStatus.confirm();
      ctx.body = { status: 'ready', state: state.kind };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', state: state.kind, reason: 'shared state unreachable or agent-status mirror stale: no tokens are minted' };
    }
  });
  provider.use(router.routes());
}
