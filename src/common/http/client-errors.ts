import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorToProblem } from './error-to-problem';
import { problem, PROBLEM_CONTENT_TYPE } from './problem';

/**
 * Errors Fastify's router raises before any route (and so before Nest's filter) is involved:
 * a URL that is not valid percent-encoding, a path parameter longer than the router accepts.
 */
export function answerFrameworkError(
  error: Error,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const { problem: body, headers } = errorToProblem(error);
  void reply
    .code(body.status)
    .headers(headers)
    .type(PROBLEM_CONTENT_TYPE)
    .send({ ...body, instance: request.url.split('?')[0] });
}

/**
 * Errors Node's HTTP parser raises before any request object exists (a request that took
 * longer than the request timeout to arrive, oversized headers, a malformed request line).
 * Fastify answers them by writing raw bytes to the socket; this writes the same kind of
 * answer, as problem+json with a stable code.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // The peer is gone; there is nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const answer =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? problem('REQUEST_TIMEOUT', 'The request did not arrive completely in time.')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? problem('HEADERS_TOO_LARGE', 'The request headers are too large.')
        : problem('MALFORMED_REQUEST', 'The request is not valid HTTP/1.1.');
  const body = JSON.stringify(answer);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${answer.status} ${answer.title}\r\n` +
        `Content-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
