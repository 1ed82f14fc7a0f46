import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Express } from 'express';
import { openApiPath } from '../src/openapi/document.ts';

/** The parts of an OpenAPI 3.1 document this check reads. */
export interface OpenApiDoc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
  components?: Record<string, unknown>;
}

export interface CheckedAnswer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/**
 * Checks answers against the document: the status must be one the operation lists, and the body
 * must match its schema (JSON with ajv's 2020-12 draft, the dialect of OpenAPI 3.1), or be the
 * declared page, or be empty for an answer without content. Records which operations were called.
 */
export function answerChecker(doc: OpenApiDoc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const validators = new Map<string, ValidateFunction>();
  const called = new Set<string>();

  function validatorFor(key: string, schema: object): ValidateFunction {
    let validate = validators.get(key);
    if (!validate) {
      // The document's components travel along, so `#/components/schemas/...` resolves.
      validate = ajv.compile({ ...schema, components: doc.components });
      validators.set(key, validate);
    }
    return validate;
  }

  function check(method: string, expressPath: string, answer: CheckedAnswer): void {
    const path = openApiPath(expressPath);
    const operation = doc.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${path} is not in the document`);
    called.add(`${method.toUpperCase()} ${path}`);
    const response = operation.responses[String(answer.status)];
    if (!response) throw new Error(`${method} ${path} answered ${answer.status}, a status the document does not list: ${answer.text}`);
    const type = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (!response.content) {
      if (answer.text !== '' && type === 'application/json')
        throw new Error(`${method} ${path} ${answer.status}: a body where none is documented`);
      return;
    }
    const media = response.content[type];
    if (!media) throw new Error(`${method} ${path} ${answer.status}: content type "${type}" is not documented`);
    const validate = validatorFor(`${method} ${path} ${answer.status} ${type}`, media.schema);
    const value = type === 'application/json' ? answer.body : answer.text;
    if (!validate(value)) {
      throw new Error(`${method} ${path} ${answer.status} does not match the document: ${ajv.errorsText(validate.errors)}\n${answer.text}`);
    }
  }

  return { check, called };
}

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  /** Where a middleware or router is mounted (router 2, Express 5). */
  rawPath?: string;
}

/**
 * Every route the Express app registered, as `METHOD /path`: the app's own and those of the routers
 * it mounts, at any depth.
 */
export function registeredRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: RouterLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const method of Object.keys(layer.route.methods)) {
          for (const path of paths) found.push(`${method.toUpperCase()} ${openApiPath(prefix + path)}`);
        }
      } else if (layer.handle?.stack) {
        const mount = layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack, '');
  return found;
}
