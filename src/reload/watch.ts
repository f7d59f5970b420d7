/**
 * The optional file watch: a change in `scopes/` or `clients/` asks for a reload once the directory has been
 * quiet for `debounceMs` (editors and ConfigMap updates write several files, or a file in several steps).
 * A failed reload is handled like any other (reloader.ts); the watch keeps going.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../log.js';

export function watchConfigDirs(dirs: readonly string[], onChange: () => void, opts: { readonly log: Logger; readonly debounceMs?: number }): { close(): void } {
  const debounceMs = opts.debounceMs ?? 500;
  let timer: NodeJS.Timeout | undefined;
  const fire = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = undefined; onChange(); }, debounceMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(dirs)) {
    try {
      const watcher = watch(dir, { persistent: false }, fire);
      watcher.on('error', (err) => { opts.log.error({ err, dir }, 'config watch failed: reload with SIGHUP'); });
      watchers.push(watcher);
    } catch (err) {
      opts.log.error({ err, dir }, 'config directory cannot be watched: reload with SIGHUP');
    }
  }
  return {
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
