/** Small helpers around node:http servers: listen and report the bound port, close with a bound. */
import type { AddressInfo } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A request handler as Koa's `app.callback()` returns it (its promise never rejects: Koa handles errors). */
export type AppCallback = (req: IncomingMessage, res: ServerResponse) => Promise<unknown> | undefined;

/** Serves `handler` on `server` (for servers that listened before their app existed). */
export function serve(server: Server, handler: AppCallback): void {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void handler(req, res);
  });
}

export async function listen(handler: AppCallback | undefined, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer();
  if (handler) serve(server, handler);
  // Slow-loris protection: headers and bodies must arrive promptly.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Stops accepting connections; long-lived ones (revocation streams) are ended after `graceMs`. */
export async function close(server: Server, graceMs = 2000): Promise<void> {
  server.closeIdleConnections();
  const force = setTimeout(() => { server.closeAllConnections(); }, graceMs);
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  clearTimeout(force);
}
