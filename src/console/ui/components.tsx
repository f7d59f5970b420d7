import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';

export function Time({ iso }: { iso: string | null | undefined }) {
  if (iso === null || iso === undefined) return <span class="muted">never</span>;
  return <time datetime={iso} title={iso}>{new Date(iso).toLocaleString()}</time>;
}

export function Badge({ value }: { value: string }) {
  return <span class={`badge badge-${value.replace(/[^a-z_-]/giu, '')}`}>{value}</span>;
}

export function Status({ loading, error }: { loading: boolean; error?: string | undefined }) {
  if (error !== undefined) return <p class="error" role="alert">{error}</p>;
  if (loading) return <p class="muted" aria-live="polite">Loading…</p>;
  return null;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return <section class="card"><h2>{title}</h2>{children}</section>;
}

/**
 * A confirmation step that asks for a reason (recorded with the person's name): focus lands in the reason
 * field, the confirm button stays disabled until there is one, errors are announced.
 */
export function ReasonForm({ label, question, confirm, tone, onSubmit, onCancel, children }: {
  label: string; question: ComponentChildren; confirm: string; tone: 'primary' | 'danger';
  onSubmit: (reason: string) => Promise<unknown>; onCancel: () => void; children?: ComponentChildren;
}) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => { field.current?.focus(); }, []);
  const id = useId();
  const submit = (e: Event): void => {
    e.preventDefault();
    setBusy(true);
    onSubmit(reason.trim()).catch((err: unknown) => {
      setError(err instanceof Error ? err.message : 'failed');
      setBusy(false);
    });
  };
  return (
    <form class="confirm" onSubmit={submit} aria-label={label}>
      <p>{question}</p>
      {children}
      <label for={id}>Reason (recorded with your name)</label>
      <textarea id={id} name="reason" required maxLength={500} value={reason} ref={field} onInput={(e) => { setReason(e.currentTarget.value); }} />
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      <div class="buttons">
        <button type="submit" class={tone} disabled={busy || reason.trim() === ''}>{confirm}</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
