import { z } from 'zod';
import { ANSWER_SHAPES, ENDPOINTS, type InjectedFault, type SimKnobs } from './types.ts';

export const DEFAULT_RATE_LIMITS: Readonly<Record<string, number>> = {
  getusersession: 3,
  profile: 3,
  logout: 2,
};

export function defaultKnobs(): SimKnobs {
  return {
    latencyMs: 0,
    jitterMs: 0,
    rateLimits: { ...DEFAULT_RATE_LIMITS },
    errorRate: 0,
    hangRate: 0,
    minKeyAssociationMs: 0,
    outage: false,
    authCodeTtlMs: 60_000,
    loginTokenTtlMs: 120_000,
    serverKeyTtlMs: 300_000,
    answerShape: 'documented',
    passwordForbidden: false,
    sessionExp: 'ist-midnight',
    profileRefuses: [],
    allowedSources: {},
    inject: [],
  };
}

const EC_CODE = /^EC\d{3}$/;

export const InjectedFaultSchema = z
  .object({
    endpoint: z.enum(ENDPOINTS),
    clientId: z.string().min(1).optional(),
    httpStatus: z.number().int().min(200).max(599).optional(),
    code: z.string().regex(EC_CODE, 'code must look like EC016').optional(),
    message: z.string().optional(),
    remaining: z.number().int().positive().optional(),
  })
  .strict();

const share = z.number().min(0).max(1);
const ms = z.number().int().min(0);

export const KnobsPatchSchema = z
  .object({
    latencyMs: ms,
    jitterMs: ms,
    rateLimits: z.partialRecord(z.enum(ENDPOINTS), z.number().min(0)),
    errorRate: share,
    hangRate: share,
    minKeyAssociationMs: ms,
    outage: z.boolean(),
    authCodeTtlMs: ms,
    loginTokenTtlMs: ms,
    serverKeyTtlMs: ms,
    answerShape: z.enum(ANSWER_SHAPES),
    passwordForbidden: z.boolean(),
    sessionExp: z.union([z.literal('ist-midnight'), z.literal('none'), z.number().int().positive()]),
    // Sessions of these clients fail `profile` (401 EC044): rests on none beyond the spec's dead-session answer.
    profileRefuses: z.array(z.string().min(1)),
    // Replaced whole by a patch; {} serves every client from anywhere. The whitelist rests on the spec [M]; the bare 403 on none.
    allowedSources: z.record(z.string().min(1), z.array(z.union([z.ipv4(), z.ipv6()]))),
    inject: z.array(InjectedFaultSchema),
  })
  .partial()
  .strict();

/** Thrown when a knobs patch does not validate. */
export class InvalidKnobsError extends Error {
  override name = 'InvalidKnobsError';
  constructor(
    message: string,
    readonly issues: string[],
  ) {
    super(message);
  }
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

/** Validates a patch and applies it: `rateLimits` merge per key (0 removes), `inject` replaces. */
export function applyKnobs(current: SimKnobs, patch: unknown): SimKnobs {
  const parsed = KnobsPatchSchema.safeParse(patch);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error);
    throw new InvalidKnobsError(`invalid knobs: ${issues.join('; ')}`, issues);
  }
  const next: SimKnobs = { ...current, rateLimits: { ...current.rateLimits } };
  const { rateLimits, inject, ...scalars } = parsed.data;
  for (const [key, value] of Object.entries(scalars)) {
    if (value !== undefined) Object.assign(next, { [key]: value });
  }
  if (rateLimits !== undefined) {
    for (const [endpoint, limit] of Object.entries(rateLimits)) {
      if (limit === undefined || limit === 0) delete next.rateLimits[endpoint];
      else next.rateLimits[endpoint] = limit;
    }
  }
  if (inject !== undefined) next.inject = inject.map((f) => stripUndefined(f));
  return next;
}

/** The fault without the fields it leaves out (the schema is strict: no other keys come through). */
function stripUndefined(fault: z.infer<typeof InjectedFaultSchema>): InjectedFault {
  const out = { ...fault };
  for (const key of Object.keys(out) as (keyof typeof out)[]) if (out[key] === undefined) delete out[key];
  return out as InjectedFault;
}

/** The simulator's knobs as they stand, changed through the admin API or `setKnobs`, and by injected faults as they are used up. */
export class KnobBox {
  constructor(private knobs: SimKnobs) {}

  readonly get = (): SimKnobs => this.knobs;

  /** Applies a partial change (validated; throws InvalidKnobsError) and returns the result. */
  readonly set = (patch: unknown): SimKnobs => (this.knobs = applyKnobs(this.knobs, patch));

  /** The first injected fault for the endpoint and client, its `remaining` counted down. */
  readonly takeFault = (endpoint: string, clientId: string | undefined): InjectedFault | undefined => {
    const taken = takeInjected(this.knobs, endpoint, clientId);
    this.knobs = taken.knobs;
    return taken.fault;
  };
}

function takeInjected(knobs: SimKnobs, endpoint: string, clientId: string | undefined): { knobs: SimKnobs; fault?: InjectedFault } {
  const index = knobs.inject.findIndex((f) => f.endpoint === endpoint && (f.clientId === undefined || f.clientId === clientId));
  if (index < 0) return { knobs };
  const fault = knobs.inject[index]!;
  if (fault.remaining === undefined) return { knobs, fault };
  const rest = fault.remaining - 1;
  const inject = [...knobs.inject];
  if (rest <= 0) inject.splice(index, 1);
  else inject[index] = { ...fault, remaining: rest };
  return { knobs: { ...knobs, inject }, fault };
}
