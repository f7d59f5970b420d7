import { Badge, Time } from '../components.js';
import { href } from '../router.js';

/** The fields of an attribution record the tables show (any record type). */
export interface RecordSummary {
  id: string; seq: number; time: string; type: string; decision?: string; reason?: string; action?: string; by?: string;
  agent?: { client_id: string | null }; user?: { sub: string }; tool?: { id: string };
  target?: { kind: string; value: string };
  aggregate?: { count: number };
  event?: string; approval_id?: string; via?: string;
}

function what(r: RecordSummary): string {
  if (r.type === 'admin_action') return `${r.action ?? ''} ${r.target ? `${r.target.kind}:${r.target.value}` : ''} by ${r.by ?? ''}`;
  if (r.type === 'approval') return `${r.event ?? ''}: ${r.agent?.client_id ?? '?'} → ${r.tool?.id ?? '?'} for ${r.user?.sub ?? '?'}${r.by !== undefined ? ` by ${r.by}${r.via !== undefined ? ` (${r.via})` : ''}` : ''}`;
  if (r.type === 'token_exchange_aggregate') return `${String(r.aggregate?.count ?? 0)} unauthenticated requests`;
  return `${r.agent?.client_id ?? '(unauthenticated)'} → ${r.tool?.id ?? '?'} for ${r.user?.sub ?? '?'}`;
}

export function RecordTable({ records }: { records: readonly RecordSummary[] }) {
  if (records.length === 0) return <p class="muted">No records match.</p>;
  return (
    <div class="table-wrap">
      <table class="responsive records">
        <thead><tr><th class="num">Seq</th><th>Time</th><th>Type</th><th>Decision</th><th>Reason</th><th>What</th></tr></thead>
        <tbody>
          {records.map((r) => (
            <tr key={r.id} data-record-id={r.id}>
              <td class="num"><a href={href('records', r.id)}>{r.seq}</a></td>
              <td><Time iso={r.time} /></td>
              <td>{r.type.replace(/_/gu, ' ')}</td>
              <td>{r.decision !== undefined ? <Badge value={r.decision} /> : null}</td>
              <td><code>{r.reason ?? ''}</code></td>
              <td>{what(r)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
