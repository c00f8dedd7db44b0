import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import type {
  ExampleObject,
  HeaderObject,
  OpenAPIObject,
  OperationObject,
  ReferenceObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { IS_PUBLIC, REQUIRED_ROLE } from '../auth/auth.decorators';
import {
  ERROR_CODES,
  type ErrorCode,
  type ErrorCodeSpec,
  specOf,
} from '../common/errors/error-codes';
import { problemCodesOf } from '../common/http/api-problems.decorator';
import { PROBLEM_CONTENT_TYPE, problem } from '../common/http/problem';
import {
  honoursIdempotencyKey,
  IDEMPOTENCY_KEY_PARAMETER,
  IDEMPOTENCY_PROBLEMS,
} from '../idempotency/idempotency.openapi';

/** Name of the problem+json schema in components.schemas. */
export const PROBLEM_SCHEMA = 'Problem';

/** What the route's shape implies, whatever it declares (see problemCodesFor). */
const AUTHENTICATED: readonly ErrorCode[] = [
  'UNAUTHENTICATED',
  'RATE_LIMITED',
  'DATABASE_UNAVAILABLE',
  'DATABASE_TIMEOUT',
];
/** The body parser answers these on any route that takes a body (json-body-parser.ts). */
const BODY: readonly ErrorCode[] = [
  'MALFORMED_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];
/** Draining answers any request (draining.ts), probes included. */
const EVERY_ROUTE: readonly ErrorCode[] = ['SHUTTING_DOWN'];

const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

/** Values for path parameters in the examples' `instance`. */
const SAMPLE_PARAMETERS: Readonly<Record<string, string>> = {
  code: 'SUMMER10',
  sku: 'MUG-BLUE',
  id: '0b9c3f0e-6f1a-4d8e-9a53-2f4c1d7e8a90',
};

interface Route {
  /** The handler's own documented codes and its controller's. */
  declared: readonly ErrorCode[];
  isPublic: boolean;
  adminOnly: boolean;
}

/**
 * Gives every operation of `document` its error responses, generated from the error-code
 * registry: one response per status, with the codes it can carry, one named example per code
 * (a body exactly as problem() builds it) and Retry-After / RateLimit-* headers where they are
 * sent. The codes are the route's @ApiProblems plus what its shape implies (problemCodesFor).
 * Throws when a route of the app has no operation in the document, so none goes undocumented.
 */
export function documentProblems(app: INestApplication, document: OpenAPIObject): void {
  const routes = routesOf(app);
  document.components ??= {};
  document.components.schemas ??= {};
  document.components.schemas[PROBLEM_SCHEMA] = PROBLEM_SCHEMA_OBJECT;
  document.components.headers = { ...document.components.headers, ...HEADERS };
  for (const [path, pathItem] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method];
      if (!operation) continue;
      const route = routes.get(operation.operationId ?? '');
      if (!route) throw new Error(`OpenAPI: no route found for ${operation.operationId}`);
      routes.delete(operation.operationId ?? '');
      if (!route.isPublic && honoursIdempotencyKey(method)) addIdempotencyKey(operation);
      const codes = problemCodesFor(route, method, operation);
      renderProblems(operation, codes, instanceOf(path));
    }
  }
  if (routes.size > 0) {
    throw new Error(`OpenAPI: routes missing from the document: ${[...routes.keys()].join(', ')}`);
  }
  document.info.description = [document.info.description ?? '', anyRequestCodes()].join('\n\n');
}

/** The codes not tied to a route, as a Markdown list for the document's description. */
function anyRequestCodes(): string {
  const lines = Object.entries(ERROR_CODES as Record<ErrorCode, ErrorCodeSpec>)
    .filter(([, spec]) => spec.anyRequest)
    .map(([code, spec]) => `- ${spec.status} \`${code}\`: ${spec.summary}.`);
  return ['Any request may also be answered with:', ...lines].join('\n');
}

/**
 * Every code an operation can answer: its declared ones, plus
 * - routes behind a key: 401, the API key's 429, and the database faults;
 * - admin routes: 403;
 * - path or query parameters, or a body: 400 VALIDATION_FAILED (the global ValidationPipe);
 * - path parameters: 414 URI_TOO_LONG (the router's maxParamLength);
 * - a method with a body: the body parser's MALFORMED_JSON, 413 and 415;
 * - POST and PATCH behind a key: the Idempotency-Key codes (the global interceptor);
 * - every route: SHUTTING_DOWN while draining.
 */
export function problemCodesFor(
  route: Route,
  method: string,
  operation: Pick<OperationObject, 'parameters' | 'requestBody'>,
): ErrorCode[] {
  const codes = new Set<ErrorCode>(route.declared);
  const validated = (operation.parameters ?? []).some(
    (parameter) => 'in' in parameter && (parameter.in === 'path' || parameter.in === 'query'),
  );
  if (validated || operation.requestBody) codes.add('VALIDATION_FAILED');
  // The router refuses a path parameter longer than its maxParamLength.
  if (operation.parameters?.some((parameter) => 'in' in parameter && parameter.in === 'path')) {
    codes.add('URI_TOO_LONG');
  }
  if (!route.isPublic) {
    AUTHENTICATED.forEach((code) => codes.add(code));
    if (BODY_METHODS.has(method)) BODY.forEach((code) => codes.add(code));
    if (honoursIdempotencyKey(method)) IDEMPOTENCY_PROBLEMS.forEach((code) => codes.add(code));
  }
  if (route.adminOnly) codes.add('FORBIDDEN');
  EVERY_ROUTE.forEach((code) => codes.add(code));
  return [...codes];
}

function renderProblems(operation: OperationObject, codes: readonly ErrorCode[], instance: string) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses = { ...operation.responses };
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = problemResponse(status, group, instance);
  }
  operation.responses = responses;
}

function problemResponse(
  status: number,
  codes: readonly ErrorCode[],
  instance: string,
): ResponseObject {
  const specs = codes.map((code) => ({ code, spec: specOf(code) }));
  const headers: Record<string, ReferenceObject> = {};
  if (specs.some(({ spec }) => spec.retryAfter)) headers['Retry-After'] = headerRef('Retry-After');
  if (status === 429) {
    for (const name of ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']) {
      headers[name] = headerRef(name);
    }
  }
  const extensions: Record<string, SchemaObject> = {};
  for (const { spec } of specs) {
    for (const [name, schema] of Object.entries(spec.extensions ?? {})) {
      const known = extensions[name];
      // Two codes of one status may give a member different shapes (an order's id or a
      // client's reference): the member is then either.
      extensions[name] =
        known && JSON.stringify(known) !== JSON.stringify(schema)
          ? { anyOf: [...(known.anyOf ?? [known]), schema] }
          : schema;
    }
  }
  return {
    description: specs.map(({ code, spec }) => `\`${code}\`: ${spec.summary}.`).join(' '),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: {
      [PROBLEM_CONTENT_TYPE]: {
        schema: {
          allOf: [
            { $ref: `#/components/schemas/${PROBLEM_SCHEMA}` },
            {
              type: 'object',
              properties: {
                status: { type: 'integer', enum: [status] },
                code: { type: 'string', enum: [...codes] },
                ...extensions,
              },
            },
          ],
        },
        examples: Object.fromEntries(
          specs.map(({ code, spec }): [string, ExampleObject] => {
            const { detail, ...members } = spec.example;
            return [
              code,
              { summary: spec.summary, value: { ...problem(code, detail, members), instance } },
            ];
          }),
        ),
      },
    },
  };
}

function addIdempotencyKey(operation: OperationObject): void {
  const parameters = operation.parameters ?? [];
  const present = parameters.some(
    (parameter) =>
      'in' in parameter &&
      parameter.in === 'header' &&
      parameter.name.toLowerCase() === IDEMPOTENCY_KEY_PARAMETER.name.toLowerCase(),
  );
  if (!present) operation.parameters = [...parameters, IDEMPOTENCY_KEY_PARAMETER];
}

function instanceOf(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_match, name: string) => SAMPLE_PARAMETERS[name] ?? name);
}

function headerRef(name: string): ReferenceObject {
  return { $ref: `#/components/headers/${name}` };
}

/**
 * The app's routes by the operationId Swagger gives them (`Controller_method`, its default
 * operationIdFactory), with the metadata their documented codes derive from.
 */
function routesOf(app: INestApplication): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const type = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!type || typeof type !== 'function') continue;
      const prototype = type.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        if (Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const meta = <T>(key: string): T | undefined =>
          (Reflect.getMetadata(key, handler) as T | undefined) ??
          (Reflect.getMetadata(key, type) as T | undefined);
        routes.set(`${type.name}_${name}`, {
          declared: [...problemCodesOf(type), ...problemCodesOf(handler)],
          isPublic: meta<boolean>(IS_PUBLIC) === true,
          adminOnly: meta<string>(REQUIRED_ROLE) === 'admin',
        });
      }
    }
  }
  return routes;
}

const PROBLEM_SCHEMA_OBJECT: SchemaObject = {
  type: 'object',
  description:
    'RFC 9457 problem details. Switch on `code` (stable); `detail` is for humans. Some codes ' +
    'add extension members, documented with each response.',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: {
      type: 'string',
      format: 'uri-reference',
      description: '`urn:couponlock:problem:` and the code in kebab case',
    },
    title: { type: 'string', description: 'The reason phrase of the status' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string', description: 'What happened, and whether anything changed' },
    code: {
      type: 'string',
      enum: Object.keys(ERROR_CODES),
      description: 'Stable machine-readable code',
    },
    instance: { type: 'string', description: 'The request path' },
  },
};

const HEADERS: Record<string, HeaderObject> = {
  'Retry-After': {
    description: 'Seconds after which a retry has a fair chance (a retry is always safe)',
    schema: { type: 'integer', minimum: 1 },
  },
  'RateLimit-Limit': {
    description: 'Requests the tightest budget allows per window (sent on every answer)',
    schema: { type: 'integer', minimum: 0 },
  },
  'RateLimit-Remaining': {
    description: 'Requests left in the tightest budget',
    schema: { type: 'integer', minimum: 0 },
  },
  'RateLimit-Reset': {
    description: 'Seconds until the tightest budget refills',
    schema: { type: 'integer', minimum: 0 },
  },
};
