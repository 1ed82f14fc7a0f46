import type { z } from 'zod';

/**
 * One line per problem, `path: message`, for people to read. A problem with the value as a whole
 * is named by `root` (`(env)`, `(body)`…); a message that already starts with its path keeps it once.
 */
export function zodIssueLines(error: z.ZodError, root = '(root)'): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (!path) return issue.message.startsWith(`${root} `) ? issue.message : `${root}: ${issue.message}`;
    const named = issue.message.startsWith(`${path} `) || issue.message.startsWith(`${path}:`);
    return named ? issue.message : `${path}: ${issue.message}`;
  });
}

/** The problems of {@link zodIssueLines} on one line: `a: problem; b.c: problem`. */
export function describeZodError(error: z.ZodError, root = '(root)'): string {
  return zodIssueLines(error, root).join('; ');
}
