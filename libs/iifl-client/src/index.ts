export type * from './types.ts';
export * from './config.ts';
export * from './errors.ts';
export {
  BROKER_CODE_FAILURES,
  SESSION_INVALID_CODE,
  INVALID_TOTP_CODE,
  extractBrokerCode,
  extractBrokerMessage,
  failureForBrokerCode,
} from './broker-codes.ts';
export { createIiflClient, HEADLESS_LOGIN_FLOWS, type IiflClientDeps, type IiflClientHandle } from './iifl-client.ts';
export { parseRetryAfter, withEgress, type HttpTransport, type HttpCall, type HttpAnswer } from './http-transport.ts';
export { parseEgress, describeEgress, egressKey, EgressFormatError, type Egress } from './egress.ts';
export { createNodeHttpTransport, type NodeHttpTransport, type NodeHttpTransportOptions } from './node-http-transport.ts';
export {
  sealEnvelope,
  openEnvelope,
  encodeEnvelope,
  decodeEnvelope,
  publicKeyFromBase64,
  clientPubOf,
  EnvelopeFormatError,
  type EnvelopeParts,
} from './envelope.ts';
export { sessionChecksum } from './checksum.ts';
export { totpCode, totpStep, TOTP_STEP_SECONDS, TOTP_DIGITS } from './totp.ts';
export { createTotpStepGuard, type TotpStepGuard, type TotpStepGuardDeps } from './totp-step-guard.ts';
export { tokenValidity, jwtExpiry, nextTimeOfDay, type ValidityRule } from './token-validity.ts';
export { createKeyPairSource, generateClientKeyPair, type ClientKeyPair, type KeyPairSource, type KeyPairLease } from './key-pairs.ts';
export { deviceIdFor } from './headless-v2.ts';
export { iiflLoginUrl } from './login-url.ts';
export { sameClientId } from './session-check.ts';
export type { LoginFlow, LoginFlowContext } from './login-flow.ts';
export type { ObservedAnswer } from './iifl-caller.ts';
export type { Sleep } from './sleep.ts';
