/**
 * Follows the broker's revocation feed (server-sent events) so revoked tokens are rejected locally, with no
 * call per request. Every event (snapshot, revocation, heartbeat) proves the feed is live; when nothing has
 * been heard for longer than `graceMs` the status of every token is unknown and validation fails closed.
 */
import { isRevokedBy, type Revocation } from '../../state/shared-state.js';

export interface RevocationFollowerOptions {
  readonly streamUrl: string;
  /** A validator key `<id>.<secret>`. */
  readonly key: string;
  readonly graceMs: number;
  readonly now?: () => number;
}

interface FeedEvent { event: string; data: string }

function parseEvents(buffer: string): { events: FeedEvent[]; rest: string } {
  const events: FeedEvent[] = [];
  const blocks = buffer.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

export class RevocationFollower {
  #rules = new Map<string, Revocation>();
  #lastHeard = Number.NEGATIVE_INFINITY;
  #controller = new AbortController();
  #closed = false;
  readonly #now: () => number;

  constructor(private readonly opts: RevocationFollowerOptions) {
    this.#now = opts.now ?? Date.now;
  }

  /** Starts following; resolves once the first snapshot arrived (or rejects after `timeoutMs`). */
  async start(timeoutMs = 5000): Promise<void> {
    void this.#loop();
    const deadline = Date.now() + timeoutMs;
    while (!this.isFresh()) {
      if (Date.now() > deadline) throw new Error('no snapshot from the revocation feed');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  isFresh(): boolean {
    return this.#now() - this.#lastHeard <= this.opts.graceMs;
  }

  /** True if revoked; throws when the feed is stale (status unknown). */
  isRevoked(claims: Parameters<typeof isRevokedBy>[0]): boolean {
    if (!this.isFresh()) throw new Error('revocation status unknown: the feed is stale');
    for (const rule of this.#rules.values()) if (isRevokedBy(claims, rule)) return true;
    return false;
  }

  close(): void {
    this.#closed = true;
    this.#controller.abort();
  }

  #apply(e: FeedEvent): void {
    this.#lastHeard = this.#now();
    if (e.event === 'snapshot') {
      const snapshot = JSON.parse(e.data) as { revocations: Revocation[] };
      this.#rules = new Map(snapshot.revocations.map((r) => [r.id, r]));
    } else if (e.event === 'revocation') {
      const { revocation } = JSON.parse(e.data) as { revocation?: Revocation };
      if (revocation) this.#rules.set(revocation.id, revocation);
    }
  }

  async #loop(): Promise<void> {
    let backoff = 100;
    while (!this.#closed) {
      try {
        const res = await fetch(this.opts.streamUrl, { headers: { authorization: `Bearer ${this.opts.key}`, accept: 'text/event-stream' }, signal: this.#controller.signal });
        if (!res.ok || !res.body) throw new Error(`revocation feed answered ${res.status}`);
        backoff = 100;
        const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          const parsed = parseEvents(buffer);
          buffer = parsed.rest;
          for (const e of parsed.events) this.#apply(e);
        }
      } catch {
        // reconnect below; staleness makes validation fail closed meanwhile
      }
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run while we awaited
      if (this.#closed) return;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 2000);
    }
  }
}
