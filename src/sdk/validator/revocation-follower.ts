/**
 * Follows the broker's revocation feed (server-sent events) so revoked tokens are rejected locally, with no
 * call per request, by lookup (rule-index.ts). Freshness comes only from a connection that delivered a
 * complete snapshot (`snapshot_begin`, pages, `snapshot_end` with the count): its `snapshot_end`, its
 * `revocation` events and its heartbeats. Nothing else counts: not a connection that is still snapshotting,
 * not `unavailable`. When nothing snapshot-backed has been heard for longer than `graceMs`, the status of
 * every token is unknown and validation fails closed (503).
 */
import type { RevocableClaims } from '../../state/shared-state.js';
import type { FeedRule } from '../../revocation/feed-rule.js';
import { RuleIndex } from '../../revocation/rule-index.js';

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

interface Staging { readonly index: RuleIndex; received: number }

const PRUNE_EVERY_MS = 1000;
const PRUNE_SLICE = 20_000;

export class RevocationFollower {
  #index: RuleIndex | undefined;
  #staging: Staging | undefined;
  /** Whether the current connection delivered a complete snapshot. */
  #backed = false;
  #lastHeard = Number.NEGATIVE_INFINITY;
  #controller = new AbortController();
  #closed = false;
  #pruner: NodeJS.Timeout | undefined;
  readonly #now: () => number;

  constructor(private readonly opts: RevocationFollowerOptions) {
    this.#now = opts.now ?? Date.now;
  }

  /** Starts following; resolves once a complete snapshot arrived, rejects (and stops) after `timeoutMs`. */
  async start(timeoutMs = 30_000): Promise<void> {
    void this.#loop();
    // Expired rules go in slices (a million rules in under a minute), never in one long pause.
    this.#pruner = setInterval(() => { this.#index?.pruneSome(Math.floor(this.#now() / 1000), PRUNE_SLICE); }, PRUNE_EVERY_MS);
    this.#pruner.unref();
    const deadline = Date.now() + timeoutMs;
    while (!this.isFresh()) {
      if (Date.now() > deadline || this.#closed) {
        this.close();
        throw new Error(`no complete snapshot from the revocation feed within ${String(timeoutMs)} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  isFresh(): boolean {
    return this.#index !== undefined && this.#now() - this.#lastHeard <= this.opts.graceMs;
  }

  /** How many rules are held (for tests and metrics). */
  get ruleCount(): number {
    return this.#index?.size ?? 0;
  }

  /** True if revoked; throws when the feed is stale (status unknown). */
  isRevoked(claims: RevocableClaims): boolean {
    const index = this.#index;
    if (!index || !this.isFresh()) throw new Error('revocation status unknown: the feed is stale');
    return index.matches(claims);
  }

  close(): void {
    clearInterval(this.#pruner);
    this.#closed = true;
    this.#controller.abort();
  }

  #heard(): void {
    if (this.#backed) this.#lastHeard = this.#now();
  }

  #apply(e: FeedEvent): void {
    switch (e.event) {
      case 'snapshot_begin': {
        const { user_key: userKey } = JSON.parse(e.data) as { user_key: string };
        this.#staging = { index: new RuleIndex(Buffer.from(userKey, 'base64url')), received: 0 };
        return;
      }
      case 'snapshot_rules': {
        if (!this.#staging) return;
        const { rules } = JSON.parse(e.data) as { rules: FeedRule[] };
        for (const rule of rules) this.#staging.index.add(rule);
        this.#staging.received += rules.length;
        return;
      }
      case 'snapshot_end': {
        const { count } = JSON.parse(e.data) as { count: number };
        const staging = this.#staging;
        this.#staging = undefined;
        // A cut snapshot is no snapshot: keep the previous rules and let freshness lapse.
        if (staging?.received !== count) return;
        this.#index = staging.index;
        this.#backed = true;
        this.#heard();
        return;
      }
      case 'revocation': {
        if (!this.#backed) return;
        const { rule } = JSON.parse(e.data) as { rule: FeedRule };
        this.#index?.add(rule);
        this.#heard();
        return;
      }
      case 'heartbeat':
        this.#heard();
        return;
      case 'reset':
        // Events were lost on the broker's side: the rules held here are incomplete from now on.
        this.#backed = false;
        this.#lastHeard = Number.NEGATIVE_INFINITY;
        this.#staging = undefined;
        return;
      default:
        // `unavailable`: the broker retries the snapshot in this stream; a partial one is discarded.
        this.#staging = undefined;
    }
  }

  async #loop(): Promise<void> {
    let backoff = 100;
    while (!this.#closed) {
      this.#backed = false;
      this.#staging = undefined;
      try {
        const res = await fetch(this.opts.streamUrl, { headers: { authorization: `Bearer ${this.opts.key}`, accept: 'text/event-stream' }, signal: this.#controller.signal, redirect: 'error' });
        if (!res.ok || !res.body) throw new Error(`revocation feed answered ${String(res.status)}`);
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
      this.#backed = false;
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run while we awaited
      if (this.#closed) return;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 2000);
    }
  }
}
