export type {
  ClientStats,
  EndpointName,
  InjectedFault,
  SimAccount,
  SimKnobs,
  SimStats,
  Simulator,
  StartSimulatorOptions,
} from './types.ts';
export { ENDPOINTS } from './types.ts';
export { startSimulator, parseAccounts, InvalidAccountsError } from './server.ts';
export { demoAccounts, generateAccounts, SimAccountSchema } from './accounts.ts';
export { defaultKnobs, KnobsPatchSchema, InvalidKnobsError } from './knobs.ts';
export { IIFL_MESSAGES } from './answers.ts';
export { totpAt } from './totp.ts';
export { nextIstMidnight } from './session-token.ts';
