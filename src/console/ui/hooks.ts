import { useCallback, useEffect, useState } from 'preact/hooks';
import { get } from './api.js';

export interface Loaded<T> {
  readonly data?: T; readonly error?: string; readonly loading: boolean;
  /** Fetch again because the person acted. */
  readonly reload: () => void;
  /** Fetch again on a timer: does not count as the person's activity (the session's idle timeout runs on). */
  readonly refresh: () => void;
}

/** GET `path` now and whenever it changes; `reload` and `refresh` fetch again. */
export function useApi<T>(path: string | undefined): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState({ n: 0, background: false });
  useEffect(() => {
    if (path === undefined) return undefined;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    get<T>(path, tick.background).then(
      (data) => { if (live) setState({ data, loading: false }); },
      (err: unknown) => { if (live) setState({ error: err instanceof Error ? err.message : 'failed', loading: false }); },
    );
    return () => { live = false; };
  }, [path, tick]);
  const reload = useCallback(() => { setTick((t) => ({ n: t.n + 1, background: false })); }, []);
  const refresh = useCallback(() => { setTick((t) => ({ n: t.n + 1, background: true })); }, []);
  return { ...state, reload, refresh };
}
