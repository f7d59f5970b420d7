/** Small helpers around node:http servers: listen and report the bound port, close with a bound. */
import type { AddressInfo } from 'node:net';
import { createServer, type RequestListener, type Server } from 'node:http';

export async function listen(handler: RequestListener | undefined, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
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

export async function close(server: Server): Promise<void> {
  server.closeIdleConnections();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
}
