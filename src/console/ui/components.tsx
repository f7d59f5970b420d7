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
