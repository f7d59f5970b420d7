/**
 * Summarises a sampling heap profile (bench/exchange-steps.ts with ALLOC_PROFILE=<file>): bytes allocated
 * per exchange by allocating function (self) and by package / source directory, and inclusive bytes of the
 * broker's own functions (src/).
 *
 *   npx tsx bench/alloc-summary.ts <file> <exchanges> [top=25]
 */
import { readFile } from 'node:fs/promises';

interface Frame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface Node { callFrame: Frame; selfSize: number; children: Node[] }

const [file, countRaw, topRaw] = process.argv.slice(2);
if (file === undefined || countRaw === undefined) {
  console.error('usage: tsx bench/alloc-summary.ts <file> <exchanges> [top]');
  process.exit(2);
}
const exchanges = Number(countRaw);
const top = Number(topRaw ?? 25);
const { head } = JSON.parse(await readFile(file, 'utf8')) as { head: Node };

function where(url: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/u.exec(url) ?? /\/(src\/[^/]+)/u.exec(url) ?? /\/(bench|test)\//u.exec(url);
  if (m?.[1]) return m[1];
  return url.startsWith('node:') ? url.split('/').slice(0, 2).join('/') : url === '' ? '(native/vm)' : url;
}

const self = new Map<string, number>();
const byPackage = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
function walk(node: Node, stack: Set<string>): number {
  const frame = node.callFrame;
  const name = `${frame.functionName || '(anonymous)'}  ${where(frame.url)}:${String(frame.lineNumber + 1)}:${String(frame.columnNumber + 1)}`;
  self.set(name, (self.get(name) ?? 0) + node.selfSize);
  byPackage.set(where(frame.url), (byPackage.get(where(frame.url)) ?? 0) + node.selfSize);
  total += node.selfSize;
  const mine = where(frame.url).startsWith('src/') && !stack.has(name);
  if (mine) stack.add(name);
  let sum = node.selfSize;
  for (const child of node.children) sum += walk(child, stack);
  if (mine) {
    stack.delete(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + sum);
  }
  return sum;
}
walk(head, new Set());

const per = (bytes: number): string => `${(bytes / exchanges).toFixed(0).padStart(7)} B`;
const print = (title: string, map: Map<string, number>): void => {
  console.log(`\n${title}`);
  for (const [name, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${per(bytes)}  ${name}`);
};
console.log(`${(total / 1e6).toFixed(1)} MB sampled over ${String(exchanges)} exchanges: ${per(total)} per exchange (server and client in one process)`);
print('allocated per exchange by function (self):', self);
print('by package / source directory:', byPackage);
print('inclusive, src/ functions:', inclusive);
