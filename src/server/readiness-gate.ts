/**
 * A named readiness check of its own in front of the broker's `/readyz`: `state_epoch`, the Redis data this
 * broker started on is still there (state/state-owner.ts). When it fails, `/readyz` answers 503 with the
 * check named, before the broker's other checks run; otherwise the broker's `/readyz` answers as usual.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppCallback } from './listen.js';

export interface EpochCheck {
  check(): Promise<'ok' | 'lost'>;
}

export function readinessGate(handler: AppCallback, epoch: EpochCheck): AppCallback {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/readyz' || (req.method !== 'GET' && req.method !== 'HEAD')) return handler(req, res);
    // A failed read is Redis being unreachable: the broker's own check reports that.
    const verdict = await epoch.check().catch(() => 'unknown' as const);
    if (verdict !== 'lost') return handler(req, res);
    const body = JSON.stringify({
      status: 'unavailable',
      state: 'redis',
      reason: 'state_epoch_lost: the redis data this broker started on is gone; suspensions and revocations may have been lost; no tokens are minted until they are re-issued and the replica restarted',
      checks: { state_epoch: { ok: false, reason: 'state_epoch_lost' } },
    });
    res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return undefined;
  };
}
