/**
 * The one way configuration problems are reported (issue 16 item 3): every stage (parse, overlay, resolve,
 * rules, assemble; assemble.ts) and every loader adds its problems, with the file and the field path, to one
 * collector, and keeps going, so that the operator sees them all at once (config-error.ts).
 */
import type { ConfigProblem } from './config-error.js';

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
