/** Schemas of names shared by several files: non-empty strings, lists without repeats, scope tokens, tool ids. */
import { z } from 'zod';

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
