export { startIiflAuth, retryPolicyFrom, type IiflAuth } from './app.ts';
export { iiflAuthConfigSchema, type IiflAuthConfig, type IiflAuthEnv } from './config.ts';
export { decideRetry, type RetryPolicy, type RetryDecision } from './retry-policy.ts';
