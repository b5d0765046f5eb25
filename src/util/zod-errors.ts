import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

export interface IssueFormat {
  /** Prefix of every line, e.g. the file the input came from: `source: path: message`. */
  source?: string;
  /** What a problem with the whole input (an empty path) is called: '(root)', 'body', 'arguments'. */
  root: string;
  /** When given, each line ends with the value found at the issue's path: `(got 7)` or `(missing)`. */
  input?: unknown;
  /** How unrecognized keys follow the message: `message a, b` or `message (a, b)`. */
  unknownKeys?: 'plain' | 'parenthesized';
}

/** The one way a zod issue becomes a line of text: `[source: ]path: message[ keys][ (got value)]`. */
export function issueLine(issue: Issue, format: IssueFormat): string {
  const path = issuePath(issue, format.root);
  const keys =
    issue.code !== 'unrecognized_keys' || !format.unknownKeys
      ? ''
      : format.unknownKeys === 'plain'
        ? ` ${issue.keys.join(', ')}`
        : ` (${issue.keys.join(', ')})`;
  const value = 'input' in format ? ` (${shownValue(valueAt(format.input, issue.path))})` : '';
  return `${format.source === undefined ? '' : `${format.source}: `}${path}: ${issue.message}${keys}${value}`;
}

/** One line per issue (see issueLine). */
export function issueLines(error: z.ZodError, format: IssueFormat): string[] {
  return error.issues.map((issue) => issueLine(issue, format));
}

/** An issue's path as `a.b.0`, or `root` for the whole input. */
export function issuePath(issue: Issue, root: string): string {
  return issue.path.length ? issue.path.map(String).join('.') : root;
}

/** The value at a zod issue's path in the input that was parsed (undefined when the path leads nowhere). */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function shownValue(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? 'undefined';
  return `got ${text.length > 80 ? `${text.slice(0, 79)}…` : text}`;
}
