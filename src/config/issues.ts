import type { z } from 'zod';
import { issueLines } from '../util/zod-errors.js';

/** One line per problem: the field path, what is wrong, and the value that was given. */
export function describeIssues(error: z.ZodError, input: unknown, source: string): string[] {
  return issueLines(error, { source, root: '(root)', input });
}
