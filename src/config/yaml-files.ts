/**
 * Reading YAML configuration from disk. Syntax errors become problems with line and column; nothing here
 * interprets the content.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { Problems } from './validate.js';

/** A parsed configuration file: `source` is how problems name it, `data` the plain YAML value. */
export interface ConfigFile {
  readonly source: string;
  readonly data: unknown;
}

const MAX_FILE_BYTES = 1024 * 1024;

/** How a path is shown in problems: relative to `cwd` when inside it, else absolute. */
export function displayPath(file: string, cwd: string): string {
  const absolute = path.resolve(cwd, file);
  const relative = path.relative(cwd, absolute);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : absolute;
}

function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

function ioMessage(error: unknown, what: string): string {
  switch (errnoCode(error)) {
    case 'ENOENT':
      return `${what} does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `${what} is not readable (permission denied)`;
    case 'ENOTDIR':
      return `${what} is not a directory`;
    case 'EISDIR':
      return `${what} is a directory, not a file`;
    default:
      return `cannot read ${what}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Parses YAML text; returns undefined after recording problems (with line/column) if it is not valid YAML. */
export function parseYaml(text: string, source: string, problems: Problems): { data: unknown } | undefined {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const issues = [...doc.errors, ...doc.warnings];
  if (issues.length > 0) {
    for (const issue of issues) {
      const position = issue.linePos?.[0];
      const message = (issue.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/u, '');
      const where = position ? ` at line ${position.line}, column ${position.col}` : '';
      problems.add(source, '', `invalid YAML${where}: ${message}`);
    }
    return undefined;
  }
  try {
    return { data: doc.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (error) {
    problems.add(source, '', `invalid YAML: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** Reads and parses one YAML file. `source` names it in problems. */
export async function readYamlFile(file: string, source: string, problems: Problems): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) {
      problems.add(source, '', 'is not a regular file');
      return undefined;
    }
    if (info.size > MAX_FILE_BYTES) {
      problems.add(source, '', `is larger than ${MAX_FILE_BYTES} bytes; configuration files are small`);
      return undefined;
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    problems.add(source, '', ioMessage(error, 'the file'));
    return undefined;
  }
  const parsed = parseYaml(text, source, problems);
  return parsed ? { source, data: parsed.data } : undefined;
}

/**
 * Every `*.yaml` / `*.yml` regular file directly in `dir` (not recursive, hidden files skipped), sorted by
 * name, parsed. A missing or empty directory is a problem: `what` names its content ("tool", "agent").
 */
export async function readYamlDir(dir: string, cwd: string, what: string, problems: Problems): Promise<ConfigFile[]> {
  const shownDir = displayPath(dir, cwd);
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries
      // Symbolic links count: Kubernetes mounts ConfigMap entries as links into a hidden `..data` directory.
      .filter(
        (entry) =>
          (entry.isFile() || entry.isSymbolicLink()) && !entry.name.startsWith('.') && /\.ya?ml$/u.test(entry.name),
      )
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    problems.add(shownDir, '', ioMessage(error, 'the directory'));
    return [];
  }
  if (names.length === 0) {
    problems.add(shownDir, '', `contains no *.yaml or *.yml files; expected one file per ${what}`);
    return [];
  }
  const files: ConfigFile[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    const file = await readYamlFile(full, displayPath(full, cwd), problems);
    if (file) files.push(file);
  }
  return files;
}
