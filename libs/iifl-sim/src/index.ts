export type {
  AnswerShape,
  ClientStats,
  EndpointName,
  InjectedFault,
  SessionExp,
  SimAccount,
  SimKnobs,
  SimStats,
  Simulator,
  StartSimulatorOptions,
} from './types.ts';
export { ANSWER_SHAPES, ENDPOINTS } from './types.ts';
export { startSimulator, parseAccounts, InvalidAccountsError } from './server.ts';
export { demoAccounts, generateAccounts, SimAccountSchema } from './accounts.ts';
export { defaultKnobs, KnobsPatchSchema, InvalidKnobsError } from './knobs.ts';
export { IIFL_MESSAGES } from './answers.ts';
export { totpAt } from './totp.ts';
export { nextIstMidnight } from './session-token.ts';
