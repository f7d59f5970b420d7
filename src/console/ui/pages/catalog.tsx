import { useApi } from '../hooks.js';
import { Badge, Section, Status } from '../components.js';
import { href } from '../router.js';

interface ToolView {
  id: string; resource: string; description: string; maxTtlSeconds: number;
  timeWindows: { days: string[]; from: string; to: string; timeZone: string }[];
  scopes: { name: string; description: string; risk: string; justifiedBy: string[] }[];
  agents: { clientId: string; scopes: string[] }[];
}

export function CatalogPage() {
  const catalog = useApi<{ tools: ToolView[] }>('/catalog');
  return (
    <>
      <h1>Catalog</h1>
      <Status loading={catalog.loading} error={catalog.error} />
      {catalog.data?.tools.map((t) => (
        <Section key={t.id} title={t.id}>
          <p>{t.description} <span class="muted">· <code>{t.resource}</code> · tokens live at most {t.maxTtlSeconds} s</span></p>
          <p><strong>Windows:</strong> {t.timeWindows.length === 0 ? 'any time' : t.timeWindows.map((w) => `${w.days.join(',')} ${w.from}–${w.to} (${w.timeZone})`).join('; ')}</p>
          <div class="table-wrap"><table class="responsive">
            <thead><tr><th>Scope</th><th>Risk</th><th>Justified by user scope</th><th>Agents allowed</th></tr></thead>
            <tbody>{t.scopes.map((s) => (
              <tr key={s.name}>
                <td><code>{s.name}</code><div class="muted small">{s.description}</div></td>
                <td><Badge value={s.risk} /></td>
                <td>{s.justifiedBy.map((j) => <code key={j}>{j} </code>)}</td>
                <td>{t.agents.filter((a) => a.scopes.includes(s.name)).map((a) => <a key={a.clientId} href={href('agents', a.clientId)}>{a.clientId} </a>)}</td>
              </tr>
            ))}</tbody>
          </table></div>
        </Section>
      ))}
    </>
  );
}
