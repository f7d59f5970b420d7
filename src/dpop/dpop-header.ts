/**
 * The `DPoP` request header, exactly once (RFC 9449 §4.3 check 1). Counted from the raw header lines,
 * because Node joins repeated headers into one comma-separated value.
 */
export type DpopHeader = { readonly kind: 'none' } | { readonly kind: 'one'; readonly value: string } | { readonly kind: 'several' };

export function dpopHeader(rawHeaders: readonly string[]): DpopHeader {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === 'dpop') values.push(rawHeaders[i + 1] ?? '');
  }
  if (values.length === 0) return { kind: 'none' };
  if (values.length > 1) return { kind: 'several' };
  return { kind: 'one', value: (values[0] ?? '').trim() };
}

/** The same from already-collected values (a framework's header list, or one possibly comma-joined string). */
export function dpopHeaderFromValues(value: string | readonly string[] | undefined): DpopHeader {
  if (value === undefined) return { kind: 'none' };
  const values = typeof value === 'string' ? [value] : value;
  if (values.length === 0) return { kind: 'none' };
  if (values.length > 1 || (values[0] ?? '').includes(',')) return { kind: 'several' };
  return { kind: 'one', value: (values[0] ?? '').trim() };
}
