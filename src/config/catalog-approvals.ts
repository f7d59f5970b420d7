/**
 * The catalog's guardrail sections (issue 18), validated with the rest of a tool file:
 *   action_types:            RFC 9396 action types agents may describe in `authorization_details`
 *     payment:
 *       actions: [create_payment]
 *       fields: { amount: { type: amount }, currency: { type: currency }, payee: { type: string, max_length: 64 } }
 *       approval: { amount_above: { EUR: "1000.00" } }     # or `approval: required`
 *   approval:                who approves gated exchanges of this tool, and for how long a request waits
 *     approvers: { user: true, roles: { finance: [finance-lead] } }   # role -> admin key ids
 *     expires_in: 10m
 *     notify_url: https://hooks.example.internal/approvals
 * and `approval: required` on a scope.
 */
import { z } from 'zod';
import {
  ACTION_FIELD_TYPES, type ActionApprovalRule, type ActionField, type ActionType, type ToolApprovalPolicy,
} from '../domain/catalog.js';
import { amountToMinor, isCurrencyCode } from '../guardrails/authorization-details/currency.js';
import { RESERVED_DETAIL_MEMBERS } from '../guardrails/authorization-details/parse-authorization-details.js';
import { durationSeconds, mappingOf, scopeToken, uniqueList, type Problems } from './validate.js';
import type { Tool } from '../domain/catalog.js';

/** Approval requests wait 10 minutes by default (issue 18), at most a day. */
export const DEFAULT_APPROVAL_LAPSE_SECONDS = 600;
export const MAX_APPROVAL_LAPSE_SECONDS = 86_400;

const NAME = /^[a-z][a-z0-9_]{0,63}$/u;
const NAME_MESSAGE = 'must be a lower-case name: a-z, 0-9 and _ (at most 64 characters, starting with a letter)';
const nameProblem = (key: string): string | undefined => (NAME.test(key) ? undefined : NAME_MESSAGE);
const fieldNameProblem = (key: string): string | undefined =>
  nameProblem(key) ?? (RESERVED_DETAIL_MEMBERS.includes(key) ? `"${key}" is an RFC 9396 member name and cannot be a field` : undefined);
const actionName = z.string().regex(NAME, { error: NAME_MESSAGE });
const keyId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/u, { error: 'must be an admin key id' });

const fieldSchema = z.strictObject({
  type: z.enum(ACTION_FIELD_TYPES),
  required: z.boolean().optional(),
  max_length: z.number().int().min(1).max(4096).optional(),
});

const thresholds = mappingOf(
  (code) => (isCurrencyCode(code) ? undefined : 'must be an ISO 4217 currency code in upper case, e.g. EUR'),
  z.string({ error: 'must be a decimal amount, quoted, e.g. "1000.00"' }),
).transform((entries, ctx): ReadonlyMap<string, number> => {
  const out = new Map<string, number>();
  for (const [currency, amount] of Object.entries(entries)) {
    const minor = amountToMinor(amount, currency);
    if (minor === undefined) ctx.addIssue({ code: 'custom', path: [currency], message: `must be a decimal amount with at most the minor digits of ${currency}, quoted` });
    else out.set(currency, minor);
  }
  return out;
});

const actionApproval = z.union([
  z.literal('required').transform((): ActionApprovalRule => ({ kind: 'always' })),
  z.strictObject({ amount_above: thresholds }).transform((rule): ActionApprovalRule => ({ kind: 'amount_above', thresholdsMinor: rule.amount_above })),
], { error: 'must be "required" or { amount_above: { <CURRENCY>: "<amount>" } }' });

const actionTypeSchema = z.strictObject({
  actions: uniqueList(actionName, 'action').min(1),
  fields: mappingOf(fieldNameProblem, fieldSchema).optional(),
  approval: actionApproval.optional(),
  /** The tool scopes whose tokens must describe an action of this type (`authorization_details`). */
  scopes: uniqueList(scopeToken, 'scope').optional(),
});

export const actionTypesSchema = mappingOf(nameProblem, actionTypeSchema).transform((types, ctx): ReadonlyMap<string, ActionType> => {
  const out = new Map<string, ActionType>();
  const actionOwner = new Map<string, string>();
  for (const [name, type] of Object.entries(types)) {
    const fields = new Map<string, ActionField>(Object.entries(type.fields ?? {}).map(([field, spec]) => [field, {
      name: field, type: spec.type, required: spec.required ?? true, ...(spec.max_length !== undefined ? { maxLength: spec.max_length } : {}),
    }]));
    const amounts = [...fields.values()].filter((f) => f.type === 'amount').length;
    const currencies = [...fields.values()].filter((f) => f.type === 'currency').length;
    if (amounts > 1 || currencies > 1) ctx.addIssue({ code: 'custom', path: [name, 'fields'], message: 'declares at most one amount and one currency field' });
    if (amounts !== currencies) ctx.addIssue({ code: 'custom', path: [name, 'fields'], message: 'an amount field needs a currency field, and a currency field an amount' });
    if (type.approval?.kind === 'amount_above' && amounts === 0) ctx.addIssue({ code: 'custom', path: [name, 'approval'], message: 'amount_above needs an amount field' });
    for (const action of type.actions) {
      const owner = actionOwner.get(action);
      if (owner !== undefined) ctx.addIssue({ code: 'custom', path: [name, 'actions'], message: `action "${action}" is already declared by action type "${owner}"` });
      actionOwner.set(action, name);
    }
    out.set(name, { name, actions: type.actions, fields, scopes: type.scopes ?? [], ...(type.approval ? { approval: type.approval } : {}) });
  }
  return out;
});

const httpsUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost'));
  } catch {
    return false;
  }
}, { error: 'must be an https URL (plain http only to localhost)' });

export const toolApprovalSchema = z.strictObject({
  approvers: z.strictObject({
    user: z.boolean().optional(),
    roles: mappingOf(nameProblem, uniqueList(keyId, 'admin key id').min(1)).optional(),
  }),
  expires_in: durationSeconds({ max: MAX_APPROVAL_LAPSE_SECONDS }).optional(),
  notify_url: httpsUrl.optional(),
}).transform((policy, ctx): ToolApprovalPolicy => {
  const roles = new Map(Object.entries(policy.approvers.roles ?? {}));
  const user = policy.approvers.user ?? true;
  if (!user && roles.size === 0) ctx.addIssue({ code: 'custom', path: ['approvers'], message: 'names nobody: allow the user, or name at least one role' });
  return {
    user, roles, lapseSeconds: policy.expires_in ?? DEFAULT_APPROVAL_LAPSE_SECONDS, ...(policy.notify_url ? { notifyUrl: policy.notify_url } : {}),
    // broker.yaml `approvals.default_lifetime` then applies (src/config/sections/approvals.ts).
    ...(policy.expires_in === undefined ? { lapseDefaulted: true as const } : {}),
  };
});

/** When a tool gates something but names no approvers: the user approves, requests wait 10 minutes. */
export const DEFAULT_TOOL_APPROVAL: ToolApprovalPolicy = { user: true, roles: new Map(), lapseSeconds: DEFAULT_APPROVAL_LAPSE_SECONDS, lapseDefaulted: true };

/** Cross-checks inside one tool: action types name only scopes the tool defines. */
export function guardrailProblems(tool: Tool, problems: Problems): boolean {
  let ok = true;
  for (const type of tool.actionTypes?.values() ?? []) {
    for (const scope of type.scopes) {
      if (tool.scopes.has(scope)) continue;
      problems.add(tool.source, ['action_types', type.name, 'scopes'], `"${scope}" is not a scope of this tool`);
      ok = false;
    }
  }
  return ok;
}
