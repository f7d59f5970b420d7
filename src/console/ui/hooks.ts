import { useCallback, useEffect, useState } from 'preact/hooks';
import { get } from './api.js';

export interface Loaded<T> { readonly data?: T; readonly error?: string; readonly loading: boolean; readonly reload: () => void }

/** GET `path` now and whenever it changes; `reload` fetches again. */
export function useApi<T>(path: string | undefined): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === undefined) return undefined;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    get<T>(path).then(
      (data) => { if (live) setState({ data, loading: false }); },
      (err: unknown) => { if (live) setState({ error: err instanceof Error ? err.message : 'failed', loading: false }); },
    );
    return () => { live = false; };
  }, [path, tick]);
  const reload = useCallback(() => { setTick((t) => t + 1); }, []);
  return { ...state, reload };
}
