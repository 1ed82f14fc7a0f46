import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { RunId, UserId } from '@refresher/contracts';
import { Scope } from '../auth.ts';
import { API_PREFIX } from '../legacy-bodies.ts';
import { OPERATIONS, type Answer, type Operation } from './operations.ts';
import { ErrorBody } from './schemas.ts';

/** Where the document is served. */
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;

const SECURITY_SCHEME = 'apiKey';

/** The path parameters the routes take, with the contracts' checks. */
const PATH_PARAMS: Record<string, z.ZodType> = { userID: UserId, runId: RunId };

/** `/users/:userID` → `/users/{userID}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function pathParams(path: string): z.ZodObject | undefined {
  const names = [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  if (names.length === 0) return undefined;
  return z.object(Object.fromEntries(names.map((name) => [name, PATH_PARAMS[name] ?? z.string()])));
}

/** The answers every route behind the key can give besides its own: no key, wrong scope, limits, body errors. */
function commonAnswers(op: Operation): Record<number, Answer> {
  if (op.scope === null) return {};
  const err = (description: string): Answer => ({ description, schema: ErrorBody });
  return {
    401: err('No API key, or an unknown one (`WWW-Authenticate: Bearer`)'),
    403: err('The key lacks the scope'),
    ...(op.scope === Scope.Refresh ? { 429: err('Too many refresh requests for this key (`Retry-After`)') } : {}),
    ...(op.body ? { 413: err('Request body too large'), 415: err('Unsupported content encoding or charset') } : {}),
  };
}

function responseOf(answer: Answer) {
  if (answer.redirect || !answer.schema) return { description: answer.description };
  const type = answer.html ? 'text/html' : 'application/json';
  return { description: answer.description, content: { [type]: { schema: answer.schema } } };
}

function routeConfig(op: Operation): RouteConfig {
  const params = pathParams(op.path);
  const answers = { ...commonAnswers(op), ...op.responses };
  return {
    method: op.method,
    path: openApiPath(op.path),
    summary: op.summary,
    ...(op.scope ? { description: `Needs an API key with the scope \`${op.scope}\`.`, security: [{ [SECURITY_SCHEME]: [] }] } : {}),
    request: {
      ...(params ? { params } : {}),
      ...(op.query ? { query: op.query } : {}),
      ...(op.body ? { body: { required: true, content: { 'application/json': { schema: op.body } } } } : {}),
    },
    responses: Object.fromEntries(Object.entries(answers).map(([status, answer]) => [status, responseOf(answer)])),
  };
}

/** The OpenAPI 3.1 document of the gateway, generated from the zod schemas of the routes and the contracts. */
export function buildOpenApiDocument(version = '0.1.0') {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', SECURITY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (INTEGRATION_API_KEY, or one of API_KEYS with its scopes)',
  });
  for (const op of OPERATIONS) registry.registerPath(routeConfig(op));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'IIFL token refresher gateway',
      version,
      description: 'The legacy integration routes over events, and the health probes.',
    },
  });
}

/** `GET /api/integration/openapi.json`: the document, made once. */
export function serveOpenApi(): RequestHandler {
  let body: string | undefined;
  return (_req, res) => {
    body ??= JSON.stringify(buildOpenApiDocument());
    res.type('application/json').send(body);
  };
}
