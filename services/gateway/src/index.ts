export { startGateway, type Gateway } from './app.ts';
export { gatewayConfigSchema, type GatewayConfig } from './config.ts';
export { createHttpApp } from './http/create-http-app.ts';
export type { HttpDeps } from './http/deps.ts';
