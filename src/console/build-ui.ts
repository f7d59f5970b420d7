/** `npm run build:console` (part of `npm run build`): writes the console bundle to dist/console-ui/. */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleUi } from './ui-assets.js';

const out = fileURLToPath(new URL('../../dist/console-ui/', import.meta.url));
const assets = await bundleUi();
await mkdir(out, { recursive: true });
await writeFile(`${out}app.js`, assets.js);
await writeFile(`${out}app.css`, assets.css);
process.stdout.write(`console bundle: ${out}app.js (${String(Buffer.byteLength(assets.js))} bytes), app.css\n`);
