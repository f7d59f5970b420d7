/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof`): top functions by self time, and self
 * time grouped by package (node_modules/<pkg>, src/<dir>, node internals).
 *
 * Percentages are of the non-idle samples taken after `skip` seconds (to leave out start-up and warm-up).
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/<file>.cpuprofile [top=25] [skip=0]
 */
import { readFile } from 'node:fs/promises';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const [file, topRaw, skipRaw] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topRaw ?? 25);
const skipUs = Number(skipRaw ?? 0) * 1e6;
const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const isIdle = (id: number): boolean => nodes.get(id)?.callFrame.functionName === '(idle)';

// Self time per node: attribute each sample's following time delta to the sampled node.
const selfUs = new Map<number, number>();
let t = 0;
let idleUs = 0;
profile.samples.forEach((nodeId, i) => {
  t += profile.timeDeltas[i] ?? 0;
  if (t < skipUs) return;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  if (isIdle(nodeId)) { idleUs += dt; return; }
  selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + dt);
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

function where(url: string): string {
  if (url.length === 0) return '(native/vm)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1] !== undefined) return nm[1];
  const src = /\/(src|bench|test)\/([^/]+)/.exec(url);
  if (src?.[1] !== undefined && src[2] !== undefined) return `${src[1]}/${src[2].replace(/\.ts$/, '')}`;
  if (url.startsWith('node:')) return url;
  return url.split('/').slice(-2).join('/');
}

const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'}  ${where(url)}${url ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  const pkg = where(url);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
}

const pct = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`profile: ${file}`);
console.log(`after the first ${skipUs / 1e6} s: ${(total / 1e6).toFixed(1)} s busy, ${(idleUs / 1e6).toFixed(1)} s idle (profile spans ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s); percentages are of busy time\n`);
console.log(`top ${top} functions by self time:`);
for (const [k, us] of [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
console.log('\nself time by package / source directory:');
for (const [k, us] of [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${pct(us)}  ${k}`);

// Inclusive time of functions in the broker's own code and in oidc-provider: where a request's time goes.
const inclusive = new Map<string, number>();
for (const [nodeId, us] of selfUs) {
  const seen = new Set<string>();
  for (let id: number | undefined = nodeId; id !== undefined; id = parent.get(id)) {
    const frame = nodes.get(id)?.callFrame;
    if (!frame) break;
    const w = where(frame.url);
    if (!w.startsWith('src/') && w !== 'oidc-provider' && w !== 'jose') continue;
    const key = `${frame.functionName || '(anonymous)'}  ${w}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}
console.log(`\ntop ${top} functions of src/, oidc-provider and jose by inclusive time:`);
for (const [k, us] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
