import type { HttpTransportName } from './config.ts';
import { createKyTransport, type HttpTransport } from './http-transport.ts';
import { createNodeHttpTransport } from './node-http-transport.ts';

/** The transport named by IIFL_HTTP_TRANSPORT. */
export function createHttpTransport(name: HttpTransportName, options: { timeoutMs: number }): HttpTransport {
  return name === 'ky' ? createKyTransport(options) : createNodeHttpTransport(options);
}
