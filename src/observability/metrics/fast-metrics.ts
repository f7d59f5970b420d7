/**
 * Counters and histograms for the exchange hot path. prom-client's own `inc`/`observe` build a label hash
 * string and a result object on every call; these keep plain numbers in cells found through nested maps
 * (one map level per label), so after the first exchange with a given label combination an update
 * allocates nothing. prom-client still owns the registry and the text format: each metric here answers
 * `get()` as a prom-client metric does, and is registered with the broker's own registry.
 *
 * Label values must come from bounded sets (broker-metrics.ts bounds them): the cells are never dropped.
 */
import type { Metric, Registry } from 'prom-client';

interface MetricValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly metricName?: string;
}

interface MetricSnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: MetricValue[];
}

/** A cell per label combination; `path` walks one nested map per label name. */
class Cells<C> {
  readonly #root = new Map<string, unknown>();
  readonly #all: { labels: Record<string, string>; cell: C }[] = [];

  constructor(private readonly labelNames: readonly string[], private readonly create: () => C) {}

  /** No allocation once the combination exists: one map lookup per label, no arrays, no key strings. */
  get(a: string, b?: string, c?: string): C {
    switch (this.labelNames.length) {
      case 0: return this.#leaf(this.#root, '', a, b, c);
      case 1: return this.#leaf(this.#root, a, a, b, c);
      case 2: return this.#leaf(this.#level(this.#root, a), b ?? '', a, b, c);
      default: return this.#leaf(this.#level(this.#level(this.#root, a), b ?? ''), c ?? '', a, b, c);
    }
  }

  #level(map: Map<string, unknown>, key: string): Map<string, unknown> {
    let next = map.get(key) as Map<string, unknown> | undefined;
    if (!next) {
      next = new Map();
      map.set(key, next);
    }
    return next;
  }

  #leaf(map: Map<string, unknown>, key: string, a: string, b?: string, c?: string): C {
    const hit = map.get(key) as C | undefined;
    if (hit !== undefined) return hit;
    const cell = this.create();
    const labels: Record<string, string> = {};
    const values = [a, b ?? '', c ?? ''];
    this.labelNames.forEach((name, i) => { labels[name] = values[i] ?? ''; });
    map.set(key, cell);
    this.#all.push({ labels, cell });
    return cell;
  }

  entries(): readonly { labels: Record<string, string>; cell: C }[] {
    return this.#all;
  }
}

/** prom-client's Registry accepts any object that answers `get()` like its own metrics (lib/registry.js). */
function register(registry: Registry, metric: { readonly name: string; get(): Promise<MetricSnapshot> }): void {
  registry.registerMetric(metric as unknown as Metric);
}

export class FastCounter {
  readonly #cells: Cells<{ value: number }>;

  constructor(registry: Registry, readonly name: string, readonly help: string, labelNames: readonly string[] = []) {
    if (labelNames.length > 3) throw new RangeError('at most three labels');
    this.#cells = new Cells(labelNames, () => ({ value: 0 }));
    register(registry, this);
  }

  inc(a = '', b?: string, c?: string, by = 1): void {
    this.#cells.get(a, b, c).value += by;
  }

  /** The current value for one label combination (tests, the console). */
  value(a = '', b?: string, c?: string): number {
    return this.#cells.get(a, b, c).value;
  }

  get(): Promise<MetricSnapshot> {
    const values = this.#cells.entries().map(({ labels, cell }) => ({ labels, value: cell.value }));
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values });
  }
}

interface HistogramCell { readonly buckets: Float64Array; sum: number; count: number }

export class FastHistogram {
  readonly #cells: Cells<HistogramCell>;
  readonly #bounds: readonly number[];

  /** `bounds`: upper bounds of the buckets, ascending (the +Inf bucket is implicit). */
  constructor(registry: Registry, readonly name: string, readonly help: string, bounds: readonly number[], labelNames: readonly string[] = []) {
    if (labelNames.length > 3) throw new RangeError('at most three labels');
    this.#bounds = [...bounds].sort((x, y) => x - y);
    const size = this.#bounds.length + 1;
    this.#cells = new Cells(labelNames, () => ({ buckets: new Float64Array(size), sum: 0, count: 0 }));
    register(registry, this);
  }

  observe(value: number, a = '', b?: string, c?: string): void {
    const cell = this.#cells.get(a, b, c);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] ?? Number.POSITIVE_INFINITY)) i += 1;
    cell.buckets[i] = (cell.buckets[i] ?? 0) + 1;
    cell.sum += value;
    cell.count += 1;
  }

  /** Observations so far for one label combination (tests). */
  count(a = '', b?: string, c?: string): number {
    return this.#cells.get(a, b, c).count;
  }

  get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    for (const { labels, cell } of this.#cells.entries()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += cell.buckets[i] ?? 0;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: String(bound) }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cell.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cell.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values });
  }
}
