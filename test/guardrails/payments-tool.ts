/** The sample catalog's payments tool (scopes/payments.yaml), loaded as the broker loads it. */
import path from 'node:path';
import { loadCatalog } from '../../src/config/load-catalog.js';
import type { Catalog, Tool } from '../../src/domain/catalog.js';
import { argumentsDigest } from '../../src/guardrails/authorization-details/arguments-digest.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export async function sampleCatalog(): Promise<Catalog> {
  return loadCatalog(path.join(REPO_ROOT, 'scopes'), { cwd: REPO_ROOT });
}

export async function paymentsTool(): Promise<Tool> {
  const tool = (await sampleCatalog()).tools.get('payments');
  if (!tool) throw new Error('scopes/payments.yaml did not load');
  return tool;
}

export interface PaymentCall { readonly payee: string; readonly amount: string; readonly currency: string; readonly reference?: string }

/** The call an agent is about to make, and the `authorization_details` entry that describes it. */
export function paymentDetail(call: PaymentCall, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'payment',
    actions: ['create_payment'],
    arguments_sha256: argumentsDigest(call),
    amount: call.amount,
    currency: call.currency,
    payee: call.payee,
    ...(call.reference !== undefined ? { reference: call.reference } : {}),
    ...overrides,
  };
}
