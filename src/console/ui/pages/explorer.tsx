import { useEffect, useRef, useState } from 'preact/hooks';
import { get, query } from '../api.js';
import { useApi } from '../hooks.js';
import { Badge, Section, Status } from '../components.js';
import { href, type Route } from '../router.js';
import { RecordTable, type RecordSummary } from './records.js';

const FIELDS = ['agent', 'user', 'tool', 'decision', 'reason', 'from', 'to'] as const;
type Filters = Record<(typeof FIELDS)[number], string>;

interface Verify { ok: boolean; records?: number; checkpoints?: number; unproven?: number; problem?: string; line?: number; file?: string }

function filtersFrom(params: URLSearchParams): Filters {
  return Object.fromEntries(FIELDS.map((f) => [f, params.get(f) ?? ''])) as Filters;
}

function VerifyStatus() {
  const v = useApi<Verify>('/verify');
  return (
    <Section title="Log verification">
      <Status loading={v.loading} error={v.error} />
      {v.data && (v.data.ok
        ? <p><Badge value="verified" /> {v.data.records} records, {v.data.checkpoints} signed checkpoints{(v.data.unproven ?? 0) > 0 ? `, ${String(v.data.unproven)} after the last checkpoint (not yet signed)` : ''}.</p>
        : <p role="alert"><Badge value="broken" /> {v.data.problem} (line {v.data.line}{v.data.file !== undefined ? ` of ${v.data.file}` : ''})</p>)}
      <button type="button" onClick={v.reload}>Verify again</button>
    </Section>
  );
}

function LiveTail() {
  const [on, setOn] = useState(false);
  const [rows, setRows] = useState<RecordSummary[]>([]);
  const head = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (!on) return undefined;
    let live = true;
    const poll = async (): Promise<void> => {
      const after = head.current === undefined ? '' : `?after=${String(head.current)}`;
      const page = await get<{ records: RecordSummary[]; head: number }>(`/tail${after}`, true).catch(() => undefined);
      if (!live || !page) return;
      if (head.current !== undefined && page.records.length > 0) setRows((r) => [...page.records, ...r].slice(0, 100));
      head.current = page.head;
    };
    void poll();
    const t = setInterval(() => { void poll(); }, 2000);
    return () => { live = false; clearInterval(t); };
  }, [on]);
  return (
    <Section title="Live tail">
      <label class="check"><input type="checkbox" checked={on} onChange={(e) => { setOn(e.currentTarget.checked); }} /> Follow new records (every 2 s)</label>
      {on && <div aria-live="polite">{rows.length === 0 ? <p class="muted">Waiting for new records…</p> : <RecordTable records={rows} />}</div>}
    </Section>
  );
}

export function ExplorerPage({ route }: { route: Route }) {
  const initial = filtersFrom(route.params);
  const [form, setForm] = useState<Filters>(initial);
  const q = query(initial);
  useEffect(() => { setForm(filtersFrom(route.params)); }, [q]);
  const results = useApi<{ records: RecordSummary[]; matched: number }>(`/records${q}`);
  const submit = (e: Event): void => {
    e.preventDefault();
    window.location.hash = `${href('explorer')}${query(form)}`;
  };
  const input = (name: keyof Filters, label: string, type = 'text') => (
    <label>{label}<input name={name} type={type} value={form[name]} onInput={(e) => { setForm({ ...form, [name]: e.currentTarget.value }); }} /></label>
  );
  return (
    <>
      <h1>Attribution explorer</h1>
      <form class="filters" onSubmit={submit} role="search" aria-label="Filter records">
        {input('agent', 'Agent')}
        {input('user', 'User (sub)')}
        {input('tool', 'Tool')}
        <label>Decision<select name="decision" value={form.decision} onChange={(e) => { setForm({ ...form, decision: e.currentTarget.value }); }}>
          <option value="">any</option><option value="granted">granted</option><option value="denied">denied</option>
        </select></label>
        {input('reason', 'Reason code')}
        {input('from', 'From (ISO time)')}
        {input('to', 'To (ISO time)')}
        <div class="buttons"><button type="submit" class="primary">Search</button>
          <a class="button" href={`/console/api/export${q}`} download="attribution-export.jsonl">Export JSON lines</a></div>
      </form>
      <Status loading={results.loading} error={results.error} />
      {results.data && <><p class="muted">{results.data.matched} matching records{results.data.matched > results.data.records.length ? `, newest ${String(results.data.records.length)} shown` : ''}.</p><RecordTable records={results.data.records} /></>}
      <div class="grid"><VerifyStatus /><LiveTail /></div>
    </>
  );
}

interface Detail { record: RecordSummary & Record<string, unknown>; chain: { seq: number; prev: string; hash: string; linked: boolean; previous: { id: string; seq: number; hash: string } | null; next: { id: string; seq: number; hash: string } | null } }

export function RecordPage({ route }: { route: Route }) {
  const id = route.parts[1] ?? '';
  const d = useApi<Detail>(`/records/${encodeURIComponent(id)}`);
  return (
    <>
      <h1>Record</h1>
      <Status loading={d.loading} error={d.error} />
      {d.data && (
        <div class="grid">
          <Section title="Place in the hash chain">
            <dl>
              <dt>Sequence</dt><dd>{d.data.chain.seq}</dd>
              <dt>Previous hash</dt><dd><code class="hash">{d.data.chain.prev}</code> {d.data.chain.linked ? <Badge value="linked" /> : <Badge value="broken" />}</dd>
              <dt>This record's hash</dt><dd><code class="hash">{d.data.chain.hash}</code></dd>
              <dt>Neighbours</dt><dd>
                {d.data.chain.previous ? <a href={href('records', d.data.chain.previous.id)}>← #{d.data.chain.previous.seq}</a> : <span class="muted">first record</span>}
                {' · '}
                {d.data.chain.next ? <a href={href('records', d.data.chain.next.id)}>#{d.data.chain.next.seq} →</a> : <span class="muted">latest record</span>}
              </dd>
            </dl>
          </Section>
          <Section title="Full record"><pre class="json">{JSON.stringify(d.data.record, null, 2)}</pre></Section>
        </div>
      )}
    </>
  );
}
