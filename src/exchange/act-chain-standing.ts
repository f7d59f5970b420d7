/**
 * A suspended or revoked agent is dead everywhere in a delegation chain (STANDARDS 16 and 22). RFC 8693 §4.1
 * keeps every earlier actor in the nested `act` claims of the new token: each of them acted for the user,
 * so an exchange built on a chain in which one of this broker's agents has since been suspended or revoked
 * would keep that agent's delegation alive. It is refused as `invalid_request` (the subject_token is
 * unacceptable, RFC 8693 §2.2.2), with a reason naming which standing was found.
 *
 * Pure: the shell reads each actor's standing (the registry's `status` and the shared-state override).
 */
import type { ActClaim } from '../domain/exchange.js';
import { deny, type Denial } from './reasons.js';

export type ActorStanding = 'active' | 'suspended' | 'revoked';

/**
 * The earlier actors of a chain the broker built (outermost first, without the outermost link: that is the
 * presenting agent, whose standing is checked on its own) that name one of this broker's agents: links
 * without `iss` (the broker mints its links without it) or with the broker's own issuer. A link naming
 * another issuer is an identity in that issuer's namespace, not one of these agents.
 */
export function earlierLocalActors(act: ActClaim, brokerIssuer: string): string[] {
  const actors: string[] = [];
  for (let link = act.act; link !== undefined; link = link.act) {
    if (link.iss === undefined || link.iss === brokerIssuer) actors.push(link.sub);
  }
  return actors;
}

/** The first actor, from the outside in, that is not active: its denial; null when all are active. */
export function chainStandingDenial(actors: readonly string[], standingOf: (clientId: string) => ActorStanding): Denial | null {
  for (const actor of actors) {
    const standing = standingOf(actor);
    if (standing === 'revoked') return deny('act_chain_revoked_actor', 'an earlier actor in the delegation chain has been revoked');
    if (standing === 'suspended') return deny('act_chain_suspended_actor', 'an earlier actor in the delegation chain is suspended');
  }
  return null;
}
