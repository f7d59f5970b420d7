/** The few HTML pages of the sign-in flow itself: no script, no styles beyond the page's own stylesheet. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/gu, (c) => `&#${String(c.charCodeAt(0))};`);
}

function page(title: string, body: string, head = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${head}<title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/**
 * After the callback: continue to `to` by a navigation this page starts. The callback itself arrived
 * cross-site (from the identity provider), and so would a redirect from it: the new `SameSite=Strict`
 * session cookie would not be sent. A navigation started by a page of this site is same-site.
 */
export function continuePage(to: string): string {
  const href = escapeHtml(to);
  return page('Signed in', `<p><a href="${href}">Continue</a></p>`, `<meta http-equiv="refresh" content="0;url=${href}">`);
}

export function problemPage(title: string, detail: string, retry?: string): string {
  return page(title, `<p>${escapeHtml(detail)}</p>${retry ? `<p><a href="${escapeHtml(retry)}">Sign in again</a></p>` : ''}`);
}

/** Where the identity provider sends the person after its logout: nothing of theirs is left here. */
export function signedOutPage(signIn: string): string {
  return page('Signed out', `<p>You are signed out of the broker console and of the identity provider.</p><p><a href="${escapeHtml(signIn)}">Sign in again</a></p>`);
}
