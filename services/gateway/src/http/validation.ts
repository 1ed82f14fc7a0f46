import type { z } from 'zod';
import { InvalidRequestError } from './errors.ts';

/** "field: problem; other: problem", without repeating a field name the message starts with. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path && !issue.message.startsWith(path) ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Parses a request part or throws {@link InvalidRequestError} (a 400) naming every problem. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidRequestError(`Invalid ${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
