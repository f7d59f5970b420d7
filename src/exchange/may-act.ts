/**
 * RFC 8693 §4.4 `may_act`: when the subject token names who may act for the user, the agent must be
 * that actor (`sub`), and an `iss`, if given, must be this broker (the namespace of agent identities).
 * The claim is enforced here and never copied into the minted token.
 */
import { isPlainObject } from './plain-object.js';
import { deny, type Denial } from './reasons.js';

export function checkMayAct(mayAct: unknown, agentId: string, brokerIssuer: string): Denial | null {
  if (mayAct === undefined) return null;
  const mismatch = deny('may_act_mismatch', 'subject_token may_act does not permit this agent');
  if (!isPlainObject(mayAct)) return mismatch;
  if (typeof mayAct.sub !== 'string' || mayAct.sub !== agentId) return mismatch;
  if (mayAct.iss !== undefined && mayAct.iss !== brokerIssuer) return mismatch;
  return null;
}
