/**
 * Operator-readable messages for zod issues: "must be a list (got a string)", "is required (one of a, b)",
 * and for an unknown key a "did you mean" naming the closest allowed key.
 */
import { z } from 'zod';
import type { Path } from '../problems.js';
import { describeValue, isMapping } from './values.js';

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** "unknown key (did you mean "justified_by"?)" or "unknown key (allowed: a, b, c)". */
export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = levenshtein(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3))) {
    return `unknown key (did you mean "${best}"?)`;
  }
  return allowed.length > 0 ? `unknown key (allowed: ${allowed.join(', ')})` : 'unknown key';
}

export function pathKey(path: Path): string {
  return JSON.stringify(path.map((segment) => (typeof segment === 'number' ? segment : String(segment))));
}

export function issueMessage(issue: z.core.$ZodRawIssue, allowedKeys: Map<string, readonly string[]>): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      return `must be ${expected} (got ${describeValue(issue.input)})`;
    }
    case 'invalid_value':
      if (issue.input === undefined) {
        return issue.values.length === 1 ? 'is required' : `is required (one of ${issue.values.map(String).join(', ')})`;
      }
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map(String).join(', ')}`;
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array' || issue.origin === 'set') {
        return min <= 1 ? 'must not be empty' : `must have at least ${min} entries`;
      }
      if (issue.origin === 'string') return min <= 1 ? 'must not be empty' : `must be at least ${min} characters`;
      return issue.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at most ${max} entries`;
      if (issue.origin === 'string') return `must be at most ${max} characters`;
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'unrecognized_keys': {
      // Remember which keys the object allows, so each unknown key can get its own "did you mean".
      const inst = issue.inst;
      allowedKeys.set(pathKey(issue.path ?? []), inst instanceof z.ZodObject ? Object.keys(inst.shape) : []);
      return 'unknown key';
    }
    case 'invalid_union': {
      if ('discriminator' in issue && typeof issue.discriminator === 'string') {
        const options = Array.isArray(issue.options) ? issue.options.map(String) : [];
        const input = issue.input;
        const missing = isMapping(input) && input[issue.discriminator] === undefined;
        return missing ? `is required (one of ${options.join(', ')})` : `must be one of ${options.join(', ')}`;
      }
      return 'does not match any of the accepted forms';
    }
    case 'invalid_key':
      return issue.issues[0]?.message ?? 'is not an acceptable key';
    case 'invalid_element':
      return issue.issues[0]?.message ?? 'is not acceptable';
    case 'invalid_format':
      return 'has an invalid format';
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'custom':
      return 'is not acceptable';
  }
}
