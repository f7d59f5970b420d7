/**
 * The console's front end (Preact, src/console/ui/) as two files served from memory: `app.js` and
 * `app.css`. Bundled by esbuild, never fetched from a CDN:
 * - from compiled code (`npm run build`, the container image): the files `npm run build` wrote to
 *   dist/console-ui/ (esbuild is a development dependency and is not in the image);
 * - from source (`npm start`, tests, a fresh clone): bundled in memory on first use.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface UiAssets {
  readonly js: string;
  readonly css: string;
}

const PREBUILT = fileURLToPath(new URL('../console-ui/', import.meta.url));
const SOURCE = fileURLToPath(new URL('./ui/', import.meta.url));

/** Bundles the front end with esbuild (build time, or first use when running from source). */
export async function bundleUi(): Promise<UiAssets> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [`${SOURCE}main.tsx`],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = result.outputFiles[0]?.text;
  if (js === undefined) throw new Error('console bundle: esbuild produced no output');
  return { js, css: await readFile(`${SOURCE}console.css`, 'utf8') };
}

async function prebuilt(): Promise<UiAssets | undefined> {
  try {
    return { js: await readFile(`${PREBUILT}app.js`, 'utf8'), css: await readFile(`${PREBUILT}app.css`, 'utf8') };
  } catch {
    return undefined;
  }
}

let loading: Promise<UiAssets> | undefined;

export function uiAssets(): Promise<UiAssets> {
  loading ??= (async () => (import.meta.url.endsWith('.js') ? await prebuilt() : undefined) ?? bundleUi())().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}
