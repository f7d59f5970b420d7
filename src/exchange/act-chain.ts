/**
 * Delegation chains (RFC 8693 §4.1). The current agent becomes the outermost actor; an existing `act`
 * from the subject token is validated, reduced to identity claims and nested inside, never dropped.
 * Parsing is iterative and stops as soon as the depth cap is passed, so hostile nesting costs O(maxDepth).
 */
import type { ActClaim } from '../domain/exchange.js';
import { isPlainObject } from './plain-object.js';
import { deny, isDenial, type Denial } from './reasons.js';

/** One actor's identity claims, without the nested chain. */
interface ActorIdentity {
  readonly sub: string;
  readonly iss?: string;
  readonly client_id?: string;
}

/** An optional identity claim: absent, or a non-empty string. `null` means malformed. */
function optionalClaim(value: unknown): string | undefined | null {
  if (value === undefined) return undefined;
  return typeof value === 'string' && value !== '' ? value : null;
}

/** One link's identity claims and the (unvalidated) link nested in it, or null when it is not an actor. */
function readLink(link: unknown): { identity: ActorIdentity; next: unknown } | null {
  if (!isPlainObject(link)) return null;
  const { sub } = link;
  const iss = optionalClaim(link.iss);
  const clientId = optionalClaim(link.client_id);
  if (typeof sub !== 'string' || sub === '' || iss === null || clientId === null) return null;
  const identity: ActorIdentity = {
    sub,
    ...(iss === undefined ? {} : { iss }),
    ...(clientId === undefined ? {} : { client_id: clientId }),
  };
  return { identity, next: link.act };
}

/**
 * The actors seen so far, by `sub`. Two actors are the same when their `sub` matches and, if both name an
 * `iss`, that matches too. Lookups cost O(actors sharing a sub), so a cyclic or repeating chain stops early.
 */
class SeenActors {
  private readonly issuersBySub = new Map<string, (string | undefined)[]>();

  /** Records `actor`; false if the same actor was already recorded. */
  add(actor: ActorIdentity): boolean {
    const issuers = this.issuersBySub.get(actor.sub);
    if (issuers === undefined) {
      this.issuersBySub.set(actor.sub, [actor.iss]);
      return true;
    }
    if (issuers.some((iss) => iss === undefined || actor.iss === undefined || iss === actor.iss)) return false;
    issuers.push(actor.iss);
    return true;
  }
}

/**
 * The existing chain's links, outermost first. Checked link by link from the outside in: shape, then the
 * running depth (the new agent counts as one actor), then whether the actor already appeared.
 */
function readLinks(agentId: string, existing: unknown, maxDepth: number): ActorIdentity[] | Denial {
  const seen = new SeenActors();
  seen.add({ sub: agentId });
  const links: ActorIdentity[] = [];
  let current = existing;
  while (current !== undefined) {
    const link = readLink(current);
    if (link === null) return deny('act_chain_malformed', 'act claim in subject_token is malformed');
    if (links.length + 2 > maxDepth) return deny('act_chain_too_deep', 'delegation chain is too deep');
    if (!seen.add(link.identity)) {
      return deny('act_chain_repeated_actor', 'an actor appears more than once in the delegation chain');
    }
    links.push(link.identity);
    current = link.next;
  }
  return links;
}

/**
 * Order of checks: the agent alone exceeding the cap, then for each existing link from the outside in:
 * malformed, too deep, repeated actor. The first failure wins.
 */
export function buildActChain(agentId: string, existing: unknown, maxDepth: number): ActClaim | Denial {
  if (Number.isNaN(maxDepth) || maxDepth < 1) return deny('act_chain_too_deep', 'delegation chain is too deep');
  if (existing === undefined) return { sub: agentId };
  const links = readLinks(agentId, existing, maxDepth);
  if (isDenial(links)) return links;
  let inner: ActClaim | undefined;
  for (let i = links.length - 1; i >= 0; i -= 1) {
    const link = links[i];
    if (link !== undefined) inner = inner === undefined ? link : { ...link, act: inner };
  }
  return inner === undefined ? { sub: agentId } : { sub: agentId, act: inner };
}

/** The `sub` of every actor in a chain, outermost (the current agent) first. */
export function chainActors(act: ActClaim): string[] {
  const actors: string[] = [];
  let current: ActClaim | undefined = act;
  while (current !== undefined) {
    actors.push(current.sub);
    current = current.act;
  }
  return actors;
}
