export * from './ids.ts';
export * from './codes.ts';
export * from './subjects.ts';
export * from './events.ts';
export * from './api.ts';
export * from './credentials.ts';
