export type * from './types.ts';
export * from './config.ts';
export * from './errors.ts';
export { createIiflClient, type IiflClientDeps, type IiflClientHandle } from './iifl-client.ts';
export { createKyTransport, type HttpTransport, type HttpCall, type HttpAnswer } from './http-transport.ts';
export { createNodeHttpTransport, type NodeHttpTransportOptions } from './node-http-transport.ts';
export { createHttpTransport } from './transports.ts';
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
export { tokenValidity, jwtExpiry } from './token-validity.ts';
export { createKeyPairSource, generateClientKeyPair, type ClientKeyPair, type KeyPairSource, type KeyPairLease } from './key-pairs.ts';
export { LOGIN_FLOWS, enckeyLoginFlow, type LoginFlow, type LoginFlowContext } from './login-flow.ts';
export type { Sleep } from './sleep.ts';
