/** A single-valued form parameter, or undefined when absent or empty (repeats are refused by step `parse`). */
import type { RawParams } from '../../domain/exchange.js';

export function singleValue(form: RawParams, name: string): string | undefined {
  const value = Object.hasOwn(form, name) ? form[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}
