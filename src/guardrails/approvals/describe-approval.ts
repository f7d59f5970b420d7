/** Human-readable words for why an approval was asked (notifications, CLI, admin API). */
import { minorToAmount } from '../authorization-details/currency.js';
import type { ApprovalTrigger } from './approval.js';

export function describeTrigger(trigger: ApprovalTrigger): string {
  if (trigger.kind === 'scope') return `scope ${trigger.scope} always needs approval`;
  if (trigger.rule === 'always') return `action ${trigger.action} always needs approval`;
  const amount = `${minorToAmount(trigger.amountMinor, trigger.currency)} ${trigger.currency}`;
  return trigger.thresholdMinor === undefined
    ? `${amount}: no threshold for ${trigger.currency}, so every amount needs approval`
    : `${amount} is above ${minorToAmount(trigger.thresholdMinor, trigger.currency)} ${trigger.currency}`;
}
