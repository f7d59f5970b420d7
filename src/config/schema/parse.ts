/**
 * The parse stage's machinery: zod parsing with the messages of messages.ts, every issue recorded with its
 * field path (../problems.ts), field by field so that one bad field never hides the problems of the others.
 */
import { z } from 'zod';
import type { Path, Problems } from '../problems.js';
import { issueMessage, pathKey, unknownKeyMessage } from './messages.js';
import { describeValue, isMapping } from './values.js';

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
