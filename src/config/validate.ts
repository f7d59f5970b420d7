/**
 * Shared validation plumbing for the configuration loaders: a problem collector, field-path formatting,
 * zod parsing with operator-readable messages, and the small schemas several files share.
 */
import { z } from 'zod';
import type { ConfigProblem } from './config-error.js';
import { DURATION_HINT, DURATION_MS_HINT, formatDuration, parseDuration, parseDurationMs } from './duration.js';

export type Path = readonly PropertyKey[];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/u;

/** `scopes["crm.accounts.write"].risk`, `trusted_issuers[0].algorithms[1]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** Collects problems; loaders keep going after each one so the operator sees them all at once. */
export class Problems {
  readonly list: ConfigProblem[] = [];

  add(file: string, path: Path | string, message: string): void {
    this.list.push({ file, path: typeof path === 'string' ? path : formatPath(path), message });
  }

  addAll(problems: readonly ConfigProblem[]): void {
    this.list.push(...problems);
  }

  get size(): number {
    return this.list.length;
  }
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a YAML value looks like, for "must be X (got Y)" messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true/false';
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

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

function pathKey(path: Path): string {
  return JSON.stringify(path.map((segment) => (typeof segment === 'number' ? segment : String(segment))));
}

function issueMessage(issue: z.core.$ZodRawIssue, allowedKeys: Map<string, readonly string[]>): string {
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

export interface Issue {
  readonly path: Path;
  readonly message: string;
}

/**
 * Parses `value` with `schema`, with operator-readable messages. Unknown keys become one issue each,
 * pointing at the key, with a "did you mean" when one is close.
 */
export function check<T>(schema: z.ZodType<T>, value: unknown): { ok: true; data: T } | { ok: false; issues: Issue[] } {
  const allowedKeys = new Map<string, readonly string[]>();
  const result = schema.safeParse(value, { error: (issue) => issueMessage(issue, allowedKeys) });
  if (result.success) return { ok: true, data: result.data };
  const issues: Issue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys.get(pathKey(issue.path)) ?? [];
      for (const key of issue.keys) issues.push({ path: [...issue.path, key], message: unknownKeyMessage(key, allowed) });
    } else {
      issues.push({ path: issue.path, message: issue.message });
    }
  }
  return { ok: false, issues };
}

/** Parses `value` with `schema`; on failure records every issue (with `path` prefixed) and returns undefined. */
export function parseValue<T>(schema: z.ZodType<T>, value: unknown, file: string, path: Path, problems: Problems): T | undefined {
  const result = check(schema, value);
  if (result.ok) return result.data;
  for (const issue of result.issues) problems.add(file, [...path, ...issue.path], issue.message);
  return undefined;
}

/**
 * A mapping with free-form keys (scope names, tool ids). Unlike `z.record`, a bad key does not hide the
 * problems of its value: every key and every value is checked.
 */
export function mappingOf<V extends z.ZodType>(keyProblem: (key: string) => string | undefined, value: V) {
  return z.unknown().transform((input, ctx): Record<string, z.output<V>> => {
    if (!isMapping(input)) {
      ctx.addIssue({
        code: 'custom',
        message: input === undefined ? 'is required' : `must be a mapping (got ${describeValue(input)})`,
      });
      return z.NEVER;
    }
    const entries: [string, z.output<V>][] = [];
    let ok = true;
    for (const [key, raw] of Object.entries(input)) {
      const problem = keyProblem(key);
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: problem });
        ok = false;
      }
      const result = check(value, raw);
      if (result.ok) {
        entries.push([key, result.data as z.output<V>]);
      } else {
        for (const issue of result.issues) ctx.addIssue({ code: 'custom', path: [key, ...issue.path], message: issue.message });
        ok = false;
      }
    }
    return ok ? Object.fromEntries(entries) : z.NEVER;
  });
}

export type Shape = Record<string, z.ZodType>;
export type ParsedFields<S extends Shape> = { -readonly [K in keyof S]?: z.output<S[K]> };

/**
 * Parses a mapping field by field, so that one bad field never hides the problems (or the values) of
 * the others: later cross-field and cross-file checks work with whatever did parse.
 * Returns undefined (after recording a problem) if `value` is not a mapping at all.
 */
export function parseFields<S extends Shape>(
  shape: S,
  value: unknown,
  file: string,
  path: Path,
  problems: Problems,
): ParsedFields<S> | undefined {
  if (!isMapping(value)) {
    problems.add(
      file,
      path,
      value === null || value === undefined
        ? 'is empty; expected a mapping of settings'
        : `must be a mapping (got ${describeValue(value)})`,
    );
    return undefined;
  }
  const allowed = Object.keys(shape);
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(shape, key)) problems.add(file, [...path, key], unknownKeyMessage(key, allowed));
  }
  const out: ParsedFields<S> = {};
  for (const key of allowed as (keyof S & string)[]) {
    const schema = shape[key];
    if (schema === undefined) continue;
    const parsed: unknown = parseValue(schema, value[key], file, [...path, key], problems);
    if (parsed !== undefined) out[key] = parsed as z.output<S[typeof key]>;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Shared schemas

/** A string with at least one non-space character. */
export const nonEmptyString = z.string().regex(/\S/u, { error: 'must not be empty' });

/** A list whose entries are all different (entries compared as written). */
export function uniqueList<T extends z.ZodType>(item: T, what = 'entry') {
  return z.array(item).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((entry, index) => {
      const key = JSON.stringify(entry);
      if (seen.has(key)) {
        ctx.addIssue({ code: 'custom', path: [index], message: `repeats the ${what} ${key}` });
      }
      seen.add(key);
    });
  });
}

/** Seconds; `max` is an upper bound in seconds. */
export function durationSeconds(options: { max?: number; allowZero?: boolean } = {}) {
  return z.unknown().transform((value, ctx): number => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is required' });
      return z.NEVER;
    }
    const seconds = parseDuration(value, { allowZero: options.allowZero ?? false });
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be ${DURATION_HINT}` });
      return z.NEVER;
    }
    if (options.max !== undefined && seconds > options.max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${formatDuration(options.max)} (got ${formatDuration(seconds)})`,
      });
      return z.NEVER;
    }
    return seconds;
  });
}

/** Milliseconds, written as seconds or with an `ms` unit. */
export function durationMillis(options: { min?: number; max?: number } = {}) {
  return z.unknown().transform((value, ctx): number => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is required' });
      return z.NEVER;
    }
    const ms = parseDurationMs(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be ${DURATION_MS_HINT}` });
      return z.NEVER;
    }
    if (options.min !== undefined && ms < options.min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${options.min}ms (got ${ms}ms)` });
      return z.NEVER;
    }
    if (options.max !== undefined && ms > options.max) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${options.max}ms (got ${ms}ms)` });
      return z.NEVER;
    }
    return ms;
  });
}

const BYTE_UNITS: Readonly<Record<string, number>> = { B: 1, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
export const BYTE_SIZE_HINT = 'a whole number of bytes or a size like "64MiB", "500MB" or "1GiB"';

/** Bytes, or undefined: a whole number, or a whole number with a unit (B, KB, MB, GB, KiB, MiB, GiB). */
export function parseByteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+)\s*([KMG]i?B|B)$/u.exec(value);
  const unit = match?.[2] === undefined ? undefined : BYTE_UNITS[match[2]];
  if (!match?.[1] || unit === undefined) return undefined;
  const bytes = Number(match[1]) * unit;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** A size in bytes, at least `min`. */
export function byteSize(options: { min: number }) {
  return z.unknown().transform((value, ctx): number => {
    const bytes = parseByteSize(value);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be ${BYTE_SIZE_HINT}` });
      return z.NEVER;
    }
    if (bytes < options.min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${options.min} bytes (got ${bytes})` });
      return z.NEVER;
    }
    return bytes;
  });
}

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/u;
export const SCOPE_TOKEN_MESSAGE =
  'must be a scope token: 1-128 printable ASCII characters, no spaces, quotes (") or backslashes';
export const scopeToken = z.string().regex(SCOPE_TOKEN, { error: SCOPE_TOKEN_MESSAGE });
export const scopeTokenProblem = (key: string): string | undefined => (SCOPE_TOKEN.test(key) ? undefined : SCOPE_TOKEN_MESSAGE);

/** Tool ids, as used in `scopes/*.yaml` `id` and as keys of an agent's `tools`. */
export const TOOL_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/u;
export const TOOL_ID_MESSAGE =
  'must be 1-63 characters of a-z, 0-9, "_" or "-", starting with a letter or digit';
export const toolId = z.string().regex(TOOL_ID, { error: TOOL_ID_MESSAGE });
export const toolIdProblem = (key: string): string | undefined => (TOOL_ID.test(key) ? undefined : TOOL_ID_MESSAGE);
