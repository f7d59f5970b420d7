/**
 * The Grafana dashboard and the Prometheus alert rules in deploy/ cannot drift from the broker: both parse,
 * have the shape their tools load, and every broker metric they name exists in a real broker's /metrics.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { reserveBroker, type RunningTestBroker } from '../support/broker-harness.js';
import { testCatalog } from '../support/catalog.js';
import { parsePrometheusText } from '../support/prometheus-text.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/u;

interface Rule { alert?: unknown; expr?: unknown; for?: unknown; labels?: Record<string, unknown>; annotations?: Record<string, unknown> }
interface Panel { id?: unknown; type?: unknown; title?: unknown; gridPos?: unknown; targets?: { expr?: unknown; refId?: unknown }[] }

let broker: RunningTestBroker;
let exposed: Map<string, string>;

beforeAll(async () => {
  broker = await (await reserveBroker()).start({ trustedIssuers: [], catalog: testCatalog(), agents: [] });
  const { body } = await broker.broker.metrics.render();
  exposed = parsePrometheusText(body).types;
});
afterAll(async () => {
  await broker.close();
});

/** Every `broker_*` metric an expression names, histogram series mapped to their histogram. */
function metricNames(expr: string): { name: string; series: string }[] {
  return [...expr.matchAll(/\bbroker_[a-z0-9_]+\b/gu)].map(([series]) => ({ series, name: HISTOGRAM_SERIES.test(series) && !exposedAs(series, 'counter') ? series.replace(HISTOGRAM_SERIES, '') : series }));
}

function exposedAs(name: string, type: string): boolean {
  return exposed.get(name) === type;
}

function expectExposed(expr: string, where: string): void {
  const names = metricNames(expr);
  expect(names.length, `${where} names no broker metric: ${expr}`).toBeGreaterThan(0);
  for (const { name, series } of names) {
    expect(exposed.has(name), `${where}: ${series} is not in /metrics`).toBe(true);
    if (series !== name) expect(exposed.get(name), `${where}: ${series} needs a histogram`).toBe('histogram');
  }
}

describe('deploy/prometheus/alerts.yml', () => {
  it('is a rule file: groups of named rules, each with an expression, a severity and a summary', async () => {
    const doc = parse(await readFile(resolve(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups?: { name?: unknown; rules?: Rule[] }[] };
    expect(Array.isArray(doc.groups)).toBe(true);
    const rules = (doc.groups ?? []).flatMap((g) => {
      expect(typeof g.name).toBe('string');
      return g.rules ?? [];
    });
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    // The four signals the issue asks for.
    expect(names).toEqual(expect.arrayContaining(['BrokerKillSwitchFired', 'BrokerRevocationLagOverWindow', 'BrokerAttributionSinkFailing', 'BrokerDenialSpike']));
    for (const rule of rules) {
      expect(typeof rule.alert).toBe('string');
      expect(typeof rule.expr).toBe('string');
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/u);
      expect(['page', 'ticket']).toContain(rule.labels?.severity);
      expect(typeof rule.annotations?.summary).toBe('string');
      expectExposed(String(rule.expr), `alert ${String(rule.alert)}`);
    }
  });
});

describe('deploy/grafana/broker-dashboard.json', () => {
  it('is a dashboard whose panels query only metrics the broker exposes', async () => {
    const dashboard = JSON.parse(await readFile(resolve(ROOT, 'deploy/grafana/broker-dashboard.json'), 'utf8')) as {
      title?: unknown; uid?: unknown; panels?: Panel[]; annotations?: { list?: { expr?: unknown }[] }; templating?: { list?: { query?: unknown }[] };
    };
    expect(typeof dashboard.title).toBe('string');
    expect(typeof dashboard.uid).toBe('string');
    const panels = dashboard.panels ?? [];
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const queried = panels.filter((p) => p.type !== 'row');
    expect(queried.length).toBeGreaterThan(8);
    for (const panel of queried) {
      const grid = panel.gridPos as Record<string, unknown> | undefined;
      for (const key of ['x', 'y', 'w', 'h']) expect(typeof grid?.[key], `panel ${String(panel.title)} gridPos.${key}`).toBe('number');
      expect(panel.targets?.length, `panel ${String(panel.title)} has no query`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expectExposed(String(target.expr), `panel ${String(panel.title)}`);
    }
    for (const annotation of dashboard.annotations?.list ?? []) expectExposed(String(annotation.expr), 'annotation');
    for (const variable of dashboard.templating?.list ?? []) {
      if (typeof variable.query === 'string' && variable.query.includes('broker_')) expectExposed(variable.query, 'variable');
    }
    // Every broker metric appears somewhere on the dashboard (nothing exposed is left unseen).
    const shown = new Set(queried.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(String(t.expr)).map((n) => n.name))));
    const missing = [...exposed.keys()].filter((name) => name.startsWith('broker_') && !shown.has(name));
    expect(missing).toEqual([]);
  });

  it('the drift check itself catches a metric the broker does not expose', () => {
    expect(() => { expectExposed('rate(broker_no_such_metric_total[5m])', 'probe'); }).toThrow(/broker_no_such_metric_total is not in \/metrics/u);
  });
});
