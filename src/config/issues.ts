import type { z } from 'zod';

/** One line per problem: the field path, what is wrong, and the value that was given. */
export function describeIssues(error: z.ZodError, input: unknown, source: string): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
    const value = valueAt(input, issue.path);
    const shown = value === undefined ? 'missing' : `got ${truncate(JSON.stringify(value))}`;
    return `${source}: ${path}: ${issue.message} (${shown})`;
  });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function truncate(text: string | undefined, max = 80): string {
  if (text === undefined) return 'undefined';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
