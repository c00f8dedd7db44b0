import type { FastifyInstance } from 'fastify';
import { DomainError } from '../errors/domain-error';

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
      else done(null, value);
    });
  });
}
