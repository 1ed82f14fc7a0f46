export * from './keyring.ts';
export * from './cipher.ts';
export * from './fingerprint.ts';
