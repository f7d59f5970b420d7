import { useEffect, useState } from 'preact/hooks';

/** The page and its parameters from the location hash: `#/agents/demo-agent?x=1` -> ['agents', 'demo-agent'], {x: '1'}. */
export interface Route { readonly parts: readonly string[]; readonly params: URLSearchParams }

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/u, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  return { parts: path.split('/').filter((p) => p !== '').map(decodeURIComponent), params: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = (): void => { setRoute(parseHash(window.location.hash)); };
    window.addEventListener('hashchange', on);
    return () => { window.removeEventListener('hashchange', on); };
  }, []);
  return route;
}

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}
