import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalResource } from '../../src/domain/resource.js';
import { buildCatalog, loadCatalog } from '../../src/config/load-catalog.js';
import { asyncProblemsOf, crmTool, problemsOf, REPO_ROOT, removeTempDirs, tempDir, ticketsTool, writeFiles } from './helpers.js';

afterEach(removeTempDirs);

const F = 'scopes/crm.yaml';
const one = (data: unknown) => buildCatalog([{ source: F, data }]);

describe('sample catalog', () => {
  it('loads crm, tickets and payroll from scopes/', async () => {
    const catalog = await loadCatalog(path.join(REPO_ROOT, 'scopes'), { cwd: REPO_ROOT });
    expect([...catalog.tools.keys()]).toEqual(['accounts', 'connected-accounts', 'crm', 'payments', 'payroll', 'tickets']);

    const crm = catalog.tools.get('crm')!;
    expect(crm.source).toBe('scopes/crm.yaml');
    expect(crm.resource).toBe('https://crm.example.internal/api');
    expect(catalog.byResource.get('https://crm.example.internal/api')).toBe(crm);
    expect(crm.scopes.get('crm.accounts.write')?.risk).toBe('medium');
    expect(crm.timeWindows).toEqual([]);

    const tickets = catalog.tools.get('tickets')!;
    for (const scope of tickets.scopes.values()) {
      expect(scope.name).toMatch(/\.read$/u);
      expect(scope.risk).toBe('low');
    }

    const payroll = catalog.tools.get('payroll')!;
    expect([...payroll.scopes.values()].map((s) => s.risk).sort()).toEqual(['critical', 'high']);
    expect(payroll.timeWindows).toEqual([
      { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '18:00', timeZone: 'Europe/Berlin' },
    ]);
    for (const tool of catalog.tools.values()) expect(tool.maxTtlSeconds).toBeLessThanOrEqual(3600);
  });
});

describe('buildCatalog', () => {
  it('maps a valid file to a Tool', () => {
    const catalog = one(
      crmTool({
        resource: 'HTTPS://CRM.Example.internal:443/api/',
        time_windows: [{ days: ['sat'], from: '22:00', to: '06:00', time_zone: 'UTC' }],
      }),
    );
    const crm = catalog.tools.get('crm')!;
    expect(crm).toMatchObject({
      id: 'crm',
      description: 'Customer accounts and contacts.',
      resource: 'https://crm.example.internal/api',
      maxTtlSeconds: 300,
      source: F,
      // to <= from: the window crosses midnight; it is accepted as written.
      timeWindows: [{ days: ['sat'], from: '22:00', to: '06:00', timeZone: 'UTC' }],
    });
    expect(crm.scopes.get('crm.accounts.read')).toEqual({
      name: 'crm.accounts.read',
      description: 'Read accounts',
      risk: 'low',
      justifiedBy: ['crm.read', 'crm.write'],
    });
    expect(catalog.byResource.get(canonicalResource('https://crm.example.internal/api/')!)).toBe(crm);
  });

  it('treats omitted, empty and null time_windows as "always"', () => {
    expect(one(crmTool()).tools.get('crm')!.timeWindows).toEqual([]);
    expect(one(crmTool({ time_windows: [] })).tools.get('crm')!.timeWindows).toEqual([]);
    expect(one(crmTool({ time_windows: null })).tools.get('crm')!.timeWindows).toEqual([]);
  });

  it('rejects a bad risk', () => {
    const tool = crmTool();
    (tool.scopes as Record<string, Record<string, unknown>>)['crm.accounts.write']!.risk = 'severe';
    expect(problemsOf(() => one(tool))).toEqual([
      'scopes/crm.yaml: scopes["crm.accounts.write"].risk: must be one of low, medium, high, critical',
    ]);
  });

  it('rejects unknown keys, suggesting the closest known key', () => {
    const tool = crmTool({ max_tll: '5m', owner: 'someone' });
    delete tool.max_ttl;
    const scopes = tool.scopes as Record<string, Record<string, unknown>>;
    scopes['crm.accounts.read'] = { description: 'Read', risk: 'low', justfied_by: ['crm.read'] };
    expect(problemsOf(() => one(tool))).toEqual([
      'scopes/crm.yaml: max_tll: unknown key (did you mean "max_ttl"?)',
      'scopes/crm.yaml: owner: unknown key (allowed: id, description, resource, max_ttl, scopes, time_windows, upstream, action_types, approval)',
      'scopes/crm.yaml: max_ttl: is required',
      'scopes/crm.yaml: scopes["crm.accounts.read"].justified_by: is required',
      'scopes/crm.yaml: scopes["crm.accounts.read"].justfied_by: unknown key (did you mean "justified_by"?)',
    ]);
  });

  it('requires a non-empty justified_by', () => {
    const missing = crmTool({ scopes: { 'crm.accounts.read': { description: 'Read', risk: 'low' } } });
    expect(problemsOf(() => one(missing))).toEqual([
      'scopes/crm.yaml: scopes["crm.accounts.read"].justified_by: is required',
    ]);
    const empty = crmTool({ scopes: { 'crm.accounts.read': { description: 'Read', risk: 'low', justified_by: [] } } });
    expect(problemsOf(() => one(empty))).toEqual([
      'scopes/crm.yaml: scopes["crm.accounts.read"].justified_by: must not be empty',
    ]);
  });

  it('rejects an unknown time zone', () => {
    const tool = crmTool({ time_windows: [{ days: ['mon'], from: '09:00', to: '17:00', time_zone: 'Europe/Berlinn' }] });
    expect(problemsOf(() => one(tool))).toEqual([
      'scopes/crm.yaml: time_windows[0].time_zone: must be a valid IANA time zone, e.g. "Europe/Berlin" or "UTC"',
    ]);
  });

  it('rejects times that are not HH:MM and days that are not weekdays', () => {
    const tool = crmTool({
      time_windows: [
        { days: ['mon'], from: '09:00', to: '17:00', time_zone: 'UTC' },
        { days: ['monday', 'tue', 'tue'], from: '9:00', to: '24:00', time_zone: 'UTC' },
        { days: [], from: 900, to: '17:60', time_zone: 'UTC' },
      ],
    });
    const time = 'must be a time of day "HH:MM" (24-hour clock, 00:00 to 23:59, quoted)';
    expect(problemsOf(() => one(tool))).toEqual([
      'scopes/crm.yaml: time_windows[1].days[0]: must be one of mon, tue, wed, thu, fri, sat, sun',
      `scopes/crm.yaml: time_windows[1].from: ${time}`,
      `scopes/crm.yaml: time_windows[1].to: ${time}`,
      'scopes/crm.yaml: time_windows[2].days: must not be empty',
      `scopes/crm.yaml: time_windows[2].from: ${time}`,
      `scopes/crm.yaml: time_windows[2].to: ${time}`,
    ]);
    const repeated = crmTool({ time_windows: [{ days: ['tue', 'tue'], from: '09:00', to: '17:00', time_zone: 'UTC' }] });
    expect(problemsOf(() => one(repeated))).toEqual(['scopes/crm.yaml: time_windows[0].days[1]: repeats the day "tue"']);
  });

  it('rejects duplicate tool ids, naming both files', () => {
    expect(
      problemsOf(() =>
        buildCatalog([
          { source: 'scopes/crm.yaml', data: crmTool() },
          { source: 'scopes/crm-copy.yaml', data: crmTool({ resource: 'https://crm2.example.internal/api' }) },
        ]),
      ),
    ).toEqual(['scopes/crm-copy.yaml: id: duplicate tool id "crm": already defined in scopes/crm.yaml']);
  });

  it('rejects duplicate resources after canonicalisation, naming both files', () => {
    expect(
      problemsOf(() =>
        buildCatalog([
          { source: 'scopes/crm.yaml', data: crmTool() },
          { source: 'scopes/crm2.yaml', data: crmTool({ id: 'crm2', resource: 'HTTPS://CRM.example.internal:443/api/' }) },
        ]),
      ),
    ).toEqual([
      'scopes/crm2.yaml: resource: duplicate resource "HTTPS://CRM.example.internal:443/api/" (canonical form "https://crm.example.internal/api"): already registered by tool "crm" in scopes/crm.yaml',
    ]);
  });

  it('requires at least one scope, valid scope names, a valid id, resource and max_ttl', () => {
    expect(problemsOf(() => one(crmTool({ scopes: {} })))).toEqual(['scopes/crm.yaml: scopes: must define at least one scope']);
    expect(problemsOf(() => one(crmTool({ scopes: null })))).toEqual([
      'scopes/crm.yaml: scopes: must be a mapping (got an empty value)',
    ]);
    const badName = crmTool({
      scopes: { 'crm accounts': { description: 'x', risk: 'low', justified_by: ['crm "read"'] } },
    });
    const scopeToken = 'must be a scope token: 1-128 printable ASCII characters, no spaces, quotes (") or backslashes';
    expect(problemsOf(() => one(badName))).toEqual([
      `scopes/crm.yaml: scopes["crm accounts"]: ${scopeToken}`,
      `scopes/crm.yaml: scopes["crm accounts"].justified_by[0]: ${scopeToken}`,
    ]);
    expect(
      problemsOf(() => one(crmTool({ id: 'CRM', resource: 'https://crm.example.internal/api#x', max_ttl: '2h', description: ' ' }))),
    ).toEqual([
      'scopes/crm.yaml: id: must be 1-63 characters of a-z, 0-9, "_" or "-", starting with a letter or digit',
      'scopes/crm.yaml: description: must not be empty',
      'scopes/crm.yaml: resource: must be an absolute URI without a fragment, credentials or surrounding spaces (e.g. "https://crm.example.internal/api")',
      'scopes/crm.yaml: max_ttl: must be at most 1h (got 2h)',
    ]);
    expect(problemsOf(() => one(crmTool({ max_ttl: 'soon' })))).toEqual([
      'scopes/crm.yaml: max_ttl: must be a whole number of seconds or a duration like "90s", "5m" or "1h"',
    ]);
  });

  it('rejects a file that is not a mapping', () => {
    expect(problemsOf(() => one(null))).toEqual(['scopes/crm.yaml: is empty; expected a mapping of settings']);
    expect(problemsOf(() => one(['crm']))).toEqual(['scopes/crm.yaml: must be a mapping (got a list)']);
  });
});

describe('loadCatalog', () => {
  it('reads *.yaml and *.yml in name order, ignoring other and hidden files and subdirectories', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      'b-tickets.yml': ticketsTool(),
      'a-crm.yaml': crmTool(),
      'README.md': '# not a tool',
      '.hidden.yaml': 'not: [valid',
      'nested/other.yaml': crmTool({ id: 'other' }),
    });
    const catalog = await loadCatalog(dir);
    expect([...catalog.tools.keys()]).toEqual(['crm', 'tickets']);
    expect(catalog.tools.get('tickets')!.source).toBe(path.join(dir, 'b-tickets.yml'));
  });

  it('follows symbolic links, as Kubernetes ConfigMap volumes use them', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { '..data/crm.yaml': crmTool() });
    await symlink(path.join('..data', 'crm.yaml'), path.join(dir, 'crm.yaml'));
    const catalog = await loadCatalog(dir);
    expect([...catalog.tools.keys()]).toEqual(['crm']);
  });

  it('reports YAML syntax errors with line and column, together with problems in other files', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      'crm.yaml': 'id: crm\nscopes:\n  crm.read: [unclosed\nmax_ttl: 5m\n',
      'dup.yaml': 'id: dup\nid: dup\n',
      'tickets.yaml': ticketsTool({ max_ttl: 0 }),
    });
    const problems = await asyncProblemsOf(loadCatalog(dir, { cwd: dir }));
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^crm\.yaml: invalid YAML at line 4, column 1: Flow sequence in block collection must be sufficiently indented/u);
    expect(problems[1]).toBe('dup.yaml: invalid YAML at line 2, column 1: Map keys must be unique');
    expect(problems[2]).toBe(
      'tickets.yaml: max_ttl: must be a whole number of seconds or a duration like "90s", "5m" or "1h"',
    );
  });

  it('reports a missing or empty directory', async () => {
    const dir = await tempDir();
    expect(await asyncProblemsOf(loadCatalog(dir, { cwd: dir }))).toEqual([
      `${dir}: contains no *.yaml or *.yml files; expected one file per tool`,
    ]);
    expect(await asyncProblemsOf(loadCatalog(path.join(dir, 'missing'), { cwd: dir }))).toEqual([
      'missing: the directory does not exist',
    ]);
  });
});
