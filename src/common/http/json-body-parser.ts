import type { FastifyInstance } from 'fastify';
import { DomainError, RequestValidationError } from '../errors/domain-error';

export class MalformedJsonError extends DomainError {
  constructor(reason: string) {
    super('MALFORMED_JSON', `The request body is not valid JSON: ${reason}`);
  }
}

/**
 * Keeps Fastify's own JSON parser (with prototype-poisoning protection) but turns its parse
 * failures into a domain error, so a client gets the precise code MALFORMED_JSON rather than
 * a generic 400.
 */
export function useStrictJsonBodyParser(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  // The API speaks JSON only: any other body is answered with 415.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Body-less actions (cancel, release) are often sent with a JSON content type anyway.
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    void parseJson(request, body.toString(), (error: Error | null, value?: unknown) => {
      if (error) done(new MalformedJsonError(error.message), undefined);
      else if (nestingExceeds(value, MAX_BODY_DEPTH)) done(tooDeep(), undefined);
      else if (holdsNul(value)) done(nulRefused(), undefined);
      else done(null, value);
    });
  });
}

/**
 * No request body of this API nests deeper than 3 levels (an order's lines). Validation and
 * transformation walk a body recursively, so a body of a few KiB nested thousands of levels
 * deep would overflow the stack there (a 500); it is refused here, before anything walks it.
 */
export const MAX_BODY_DEPTH = 32;

function tooDeep(): RequestValidationError {
  return new RequestValidationError([
    { field: 'body', messages: [`body must not nest deeper than ${MAX_BODY_DEPTH} levels`] },
  ]);
}

/** Whether `value` has arrays or objects nested more than `limit` deep; iterative, no stack. */
export function nestingExceeds(value: unknown, limit: number): boolean {
  const pending: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.node === null || typeof next.node !== 'object') continue;
    if (next.depth >= limit) return true;
    for (const child of Object.values(next.node))
      pending.push({ node: child, depth: next.depth + 1 });
  }
  return false;
}

/**
 * PostgreSQL's text types cannot store U+0000, and a statement carrying one fails as a whole:
 * for a combined batch that is every request in it. No field of this API may hold one, so a
 * body with a NUL anywhere (a value or a key) is refused here, like any other invalid input.
 */
function nulRefused(): RequestValidationError {
  return new RequestValidationError([
    { field: 'body', messages: ['strings must not contain the NUL character (U+0000)'] },
  ]);
}

/** Whether any string in `value` (a value or an object key) contains U+0000; iterative. */
export function holdsNul(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node === 'string') {
      if (node.includes('\u0000')) return true;
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (key.includes('\u0000')) return true;
        pending.push(child);
      }
    }
  }
  return false;
}
