import type { z } from 'zod';
import { describeZodError } from '@refresher/platform';
import { InvalidRequestError } from './errors.ts';

/** Parses a request part or throws {@link InvalidRequestError} (a 400) naming every problem. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidRequestError(`Invalid ${what}: ${describeZodError(parsed.error, what)}`);
  return parsed.data;
}
