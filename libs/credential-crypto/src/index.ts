export * from './keyring.ts';
export * from './cipher.ts';
