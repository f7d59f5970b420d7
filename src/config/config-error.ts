/**
 * Configuration problems. Loaders collect every problem they find (across all files) before failing,
 * and each problem names the file, the field path inside it and what is wrong, e.g.
 * `scopes/crm.yaml: scopes["crm.accounts.write"].risk: must be one of low, medium, high, critical`.
 */

export interface ConfigProblem {
  /** The file the problem is in, as shown to the operator (or "environment" for environment variables). */
  readonly file: string;
  /** The field path inside the file (e.g. `trusted_issuers[0].algorithms[1]`), or "" for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

/** One line: `file: path: message` (or `file: message` when the problem concerns the whole file). */
export function formatProblem(problem: ConfigProblem): string {
  return problem.path === ''
    ? `${problem.file}: ${problem.message}`
    : `${problem.file}: ${problem.path}: ${problem.message}`;
}

/** One line per problem, in the order they were found. */
export function formatProblems(problems: readonly ConfigProblem[]): string[] {
  return problems.map(formatProblem);
}

/** Not an HTTP error: configuration is checked before the broker listens (and by `broker check`). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const count = problems.length;
    super(
      `invalid configuration (${count} ${count === 1 ? 'problem' : 'problems'}):\n${formatProblems(problems).join('\n')}`,
    );
    this.problems = Object.freeze([...problems]);
  }
}

export function isConfigError(value: unknown): value is ConfigError {
  return value instanceof ConfigError;
}
