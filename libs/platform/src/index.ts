export * from './config.ts';
export * from './logger.ts';
export * from './nats.ts';
export * from './request.ts';
export * from './health.ts';
export * from './lifecycle.ts';
