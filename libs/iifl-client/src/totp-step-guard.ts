import { sleepWithSignal, type Sleep } from './sleep.ts';
import { TOTP_STEP_SECONDS, totpStep } from './totp.ts';

export interface TotpStepGuard {
  /**
   * Claims a TOTP step for `userID` that no earlier login of that user in this process used,
   * waiting for the next step to begin when the current one is taken. Returns the instant to
   * compute the code for.
   */
  claim(userID: string, signal?: AbortSignal): Promise<Date>;
}

export interface TotpStepGuardDeps {
  now: () => Date;
  sleep: Sleep;
  stepSeconds?: number;
}

/**
 * RFC 6238 lets a verifier refuse a code it has seen; IIFL is free to, so one user is never sent
 * the same step twice from this process.
 */
export function createTotpStepGuard(deps: TotpStepGuardDeps): TotpStepGuard {
  const stepMs = (deps.stepSeconds ?? TOTP_STEP_SECONDS) * 1000;
  const lastStep = new Map<string, number>();

  const forget = (current: number): void => {
    for (const [user, step] of lastStep) if (step < current) lastStep.delete(user);
  };

  return {
    async claim(userID, signal) {
      for (;;) {
        const at = deps.now();
        const step = totpStep(at, stepMs / 1000);
        const used = lastStep.get(userID);
        if (used === undefined || used < step) {
          forget(step);
          lastStep.set(userID, step);
          return at;
        }
        // Wait until `used + 1` begins (a concurrent claim may have taken that one too: loop).
        const wait = (used + 1) * stepMs - at.getTime();
        await sleepWithSignal(deps.sleep, Math.max(wait, 1), signal);
      }
    },
  };
}
