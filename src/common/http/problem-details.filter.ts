import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorToProblem, type MappedError } from './error-to-problem';
import { problem, PROBLEM_CONTENT_TYPE } from './problem';

/**
 * The one place where errors become HTTP responses. Everything a client sees on failure is
 * RFC 9457 problem+json with a stable `code`; stack traces go to the log, never to the client.
 * Nest also routes Fastify's own errors (unknown route, bad body, body too large) here.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { problem, headers, unexpected } =
      methodNotAllowed(error, request) ?? errorToProblem(error);
    if (unexpected) {
      this.logger.error(
        { err: error, method: request.method, url: request.url },
        'unhandled error',
      );
    }
    if (reply.sent) return;
    void reply
      .status(problem.status)
      .headers(headers)
      .type(PROBLEM_CONTENT_TYPE)
      .send({ ...problem, instance: request.url.split('?')[0] });
  }
}

/**
 * Nest answers a request no route matched with NotFoundException. When the path exists for
 * other methods, the honest answer is 405 with the methods it does serve.
 */
function methodNotAllowed(error: unknown, request: FastifyRequest): MappedError | undefined {
  if (!(error instanceof NotFoundException)) return undefined;
  // Absent in apps that do not install trackRoutes (test probe apps).
  const allowed = request.server.hasDecorator('allowedMethods')
    ? request.server.allowedMethods(request.url)
    : [];
  // The router refused the URL for another reason than its method (find-my-way, which mirrors
  // the routes, accepts an empty path parameter; Fastify does not): that is a plain 404.
  if (allowed.length === 0 || allowed.includes(request.method)) return undefined;
  return {
    problem: problem(
      'METHOD_NOT_ALLOWED',
      `${request.method} is not supported here; this path supports ${allowed.join(', ')}.`,
    ),
    headers: { allow: allowed.join(', ') },
    unexpected: false,
  };
}
