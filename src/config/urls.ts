/** URL and host rules shared by the configuration sections and the safety rules. */
import { z } from 'zod';

const LOOPBACK_URL_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);
const LOOPBACK_BIND_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '::1']);

export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_URL_HOSTS.has(url.hostname);
}

export function isLoopbackBindHost(host: string): boolean {
  return LOOPBACK_BIND_HOSTS.has(host.toLowerCase());
}

export function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** Why `value` is not an acceptable broker issuer identifier (mode-independent rules), or undefined. */
export function brokerIssuerProblem(value: string): string | undefined {
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return 'must be an absolute https URL, e.g. "https://broker.example.com"';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (value.includes('?')) return 'must not have a query';
  if (value.includes('#')) return 'must not have a fragment';
  if (value.endsWith('/')) return 'must not end with a slash';
  const normalized = url.pathname === '/' ? url.origin : `${url.origin}${url.pathname}`;
  if (normalized !== value) return `must be written in normalized form "${normalized}"`;
  return undefined;
}

/** Why `value` is not an acceptable URL of a remote party (https, or http on loopback only), or undefined. */
export function remoteUrlProblem(value: string, allowQuery: boolean): string | undefined {
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return 'must be an absolute https URL';
  if (url.protocol === 'http:' && !isLoopbackUrl(url)) {
    return 'must use https (http is accepted only for localhost, 127.0.0.1 or [::1])';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (!allowQuery && value.includes('?')) return 'must not have a query';
  if (value.includes('#')) return 'must not have a fragment';
  return undefined;
}

/** A string checked by `problem` (which returns why it is not acceptable, or undefined). */
export function urlSchema(problem: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const why = problem(value);
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
  });
}

export const portSchema = z.number().int().min(1).max(65535);

/** A port number written in an environment variable, or undefined. */
export function portFromText(value: string): number | undefined {
  if (!/^\d{1,5}$/u.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}
