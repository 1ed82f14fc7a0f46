export * from './ports.ts';
export * from './nats-server.ts';
export * from './postgres.ts';
export * from './processes.ts';
export * from './postgres-cluster.ts';
export * from './persistence.ts';
export * from './pipeline.ts';
export * from './login-page.ts';
