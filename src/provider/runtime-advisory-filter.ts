/**
 * oidc-provider 9 prints "Unsupported runtime" when it is imported on Node 20. The broker is tested on
 * Node 20.19+ (these machines) and ships on the current Node LTS (Dockerfile), so that advisory is noise in
 * the start-up output on a supported runtime. This module, evaluated immediately before oidc-provider
 * (see oidc-provider.ts), filters exactly that one line while the library loads; nothing else is touched.
 */
const ADVISORY = 'oidc-provider WARNING: Unsupported runtime.';
// eslint-disable-next-line no-console -- we wrap console.warn itself
const originalWarn = console.warn;
let filtered = false;

// eslint-disable-next-line no-console -- see above
console.warn = (...args: unknown[]): void => {
  const first = args[0];
  if (typeof first === 'string' && first.includes(ADVISORY)) {
    filtered = true;
    return;
  }
  originalWarn(...args);
};

/** Restores console.warn; returns whether the advisory was seen (and dropped). */
export function restoreConsoleWarn(): boolean {
  // eslint-disable-next-line no-console -- restoring what we wrapped
  console.warn = originalWarn;
  return filtered;
}
