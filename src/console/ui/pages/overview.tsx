import { useEffect } from 'preact/hooks';
import { useApi } from '../hooks.js';
import { Badge, Section, Status, Time } from '../components.js';
import { href } from '../router.js';

interface Overview {
  perMinute: { minute: string; granted: number; denied: number }[];
  totals: { granted: number; denied: number };
  topDenialReasons: { reason: string; count: number }[];
  killSwitchEvents: { time: string; action: string; by: string; target: string; reason: string }[];
  readiness: { name: string; ok: boolean; detail: string }[];
  reload: ReloadStatus | null;
  pendingApprovals: number | null;
}

interface ReloadStatus {
  generation: number; since: string; tools: number; agents: number;
  lastAttempt?: { at: string; by: string; ok: boolean; error?: string; problems?: string[]; changed?: boolean; summary?: string };
}

/** The last reload refused: what is wrong, where; the set in force is the one before. */
function ReloadBanner({ reload }: { reload: ReloadStatus }) {
  const last = reload.lastAttempt;
  if (!last || last.ok) return null;
  return (
    <div class="banner" role="alert">
      <strong>Reload refused</strong> <Time iso={last.at} /> (asked by {last.by}): {last.error}. The scopes and agents in force are
      unchanged (generation {reload.generation}).
      <ul>{(last.problems ?? []).map((p) => <li key={p}><code>{p}</code></li>)}</ul>
    </div>
  );
}

function ConfigSection({ reload }: { reload: ReloadStatus }) {
  const last = reload.lastAttempt;
  return (
    <Section title="Configuration in force">
      <p>Generation {reload.generation} since <Time iso={reload.since} />: {reload.tools} tools, {reload.agents} agents.</p>
      {last ? (
        <p>Last reload <Time iso={last.at} /> by {last.by}: {last.ok ? <><Badge value="ok" /> {last.changed === true ? last.summary : 'nothing changed'}</> : <Badge value="refused" />}</p>
      ) : <p class="muted">No reload since start.</p>}
    </Section>
  );
}

function Chart({ buckets }: { buckets: Overview['perMinute'] }) {
  const max = Math.max(1, ...buckets.map((b) => b.granted + b.denied));
  const w = 6;
  return (
    <svg class="chart" viewBox={`0 0 ${String(buckets.length * w)} 100`} preserveAspectRatio="none" role="img"
      aria-label={`Exchanges per minute over the last hour: ${String(buckets.reduce((n, b) => n + b.granted, 0))} granted, ${String(buckets.reduce((n, b) => n + b.denied, 0))} denied`}>
      {buckets.map((b, i) => {
        const g = (b.granted / max) * 100;
        const d = (b.denied / max) * 100;
        return (
          <g key={b.minute}>
            <title>{`${new Date(b.minute).toLocaleTimeString()}: ${String(b.granted)} granted, ${String(b.denied)} denied`}</title>
            <rect class="bar-granted" x={i * w + 0.5} width={w - 1} y={100 - g} height={g} />
            <rect class="bar-denied" x={i * w + 0.5} width={w - 1} y={100 - g - d} height={d} />
          </g>
        );
      })}
    </svg>
  );
}

export function OverviewPage() {
  const overview = useApi<Overview>('/overview');
  const { refresh } = overview;
  useEffect(() => {
    const t = setInterval(refresh, 10_000);
    return () => { clearInterval(t); };
  }, [refresh]);
  const o = overview.data;
  return (
    <>
      <h1>Overview</h1>
      <Status loading={overview.loading && !o} error={overview.error} />
      {o?.reload && <ReloadBanner reload={o.reload} />}
      {o && (
        <div class="grid">
          <Section title="Exchanges per minute (last hour)">
            <p><span class="legend legend-granted">granted</span> <strong>{o.totals.granted}</strong> · <span class="legend legend-denied">denied</span> <strong>{o.totals.denied}</strong> <span class="muted">(last 24 h)</span></p>
            <Chart buckets={o.perMinute} />
          </Section>
          <Section title="Readiness">
            <ul class="plain">
              {o.readiness.map((c) => <li key={c.name}><Badge value={c.ok ? 'ready' : 'failing'} /> {c.name} <span class="muted">{c.detail}</span></li>)}
            </ul>
          </Section>
          <Section title="Top denial reasons (24 h)">
            {o.topDenialReasons.length === 0 ? <p class="muted">No denials.</p> : (
              <table><thead><tr><th>Reason</th><th class="num">Count</th></tr></thead><tbody>
                {o.topDenialReasons.map((r) => <tr key={r.reason}><td><a href={`${href('explorer')}?decision=denied&reason=${encodeURIComponent(r.reason)}`}>{r.reason}</a></td><td class="num">{r.count}</td></tr>)}
              </tbody></table>
            )}
          </Section>
          {o.pendingApprovals !== null && (
            <Section title="Pending approvals">
              <p><strong class="big">{o.pendingApprovals}</strong> {o.pendingApprovals === 1 ? 'request waits' : 'requests wait'} for a person. <a href={href('approvals')}>Open approvals</a></p>
            </Section>
          )}
          {o.reload && <ConfigSection reload={o.reload} />}
          <Section title="Kill-switch events (24 h)">
            {o.killSwitchEvents.length === 0 ? <p class="muted">None.</p> : (
              <ul class="plain">{o.killSwitchEvents.map((e) => <li key={`${e.time}${e.target}`}><Time iso={e.time} /> {e.action} {e.target} <span class="muted">{e.by}: {e.reason}</span></li>)}</ul>
            )}
          </Section>
        </div>
      )}
    </>
  );
}
