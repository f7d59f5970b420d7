/**
 * Revocation-feed subscribers for the `broker-feed-subscribers` scenario: `total` validators on the broker's
 * `/revocations/stream`, of which `stalled` send their request and then never read a byte (slow or stuck
 * validators). The server makes the revocations (servers/broker.ts, `feed.revokeEveryMs`).
 */
import { connect, type Socket } from 'node:net';

export interface Subscribers {
  readonly reading: number;
  readonly stalled: number;
  close(): Promise<void>;
}

export async function openSubscribers(url: string, opts: { validatorKey: string; total: number; stalled: number }): Promise<Subscribers> {
  const sockets: Socket[] = [];
  const { port } = new URL(url);
  for (let i = 0; i < opts.stalled; i += 1) {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(`GET /revocations/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${opts.validatorKey}\r\n\r\n`);
    });
    socket.on('error', () => undefined);
    socket.pause();
    sockets.push(socket);
  }
  // Readers are raw sockets that discard what they read (after the snapshot): a validator's parsing is
  // not what this scenario measures, and it must not take the load generator's core.
  let live = 0;
  const subscribed: Promise<void>[] = [];
  for (let i = 0; i < opts.total - opts.stalled; i += 1) {
    subscribed.push(new Promise<void>((ready) => {
      let seen = '';
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`GET /revocations/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${opts.validatorKey}\r\n\r\n`);
      });
      sockets.push(socket);
      socket.on('error', () => { ready(); });
      socket.on('close', () => { ready(); });
      socket.on('data', (chunk: Buffer) => {
        if (seen === 'live') return;
        seen += chunk.toString();
        if (seen.includes('event: snapshot_end')) {
          seen = 'live';
          live += 1;
          ready();
        }
      });
    }));
  }
  await Promise.all(subscribed);
  if (live < opts.total - opts.stalled) throw new Error(`only ${String(live)} of ${String(opts.total - opts.stalled)} feed subscribers got a snapshot`);
  return {
    reading: live,
    stalled: opts.stalled,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.resolve();
    },
  };
}
