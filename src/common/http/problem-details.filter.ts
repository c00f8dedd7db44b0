import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorToProblem } from './error-to-problem';
import { PROBLEM_CONTENT_TYPE } from './problem';

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
    const { problem, headers, unexpected } = errorToProblem(error);
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
