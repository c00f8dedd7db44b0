import type { FastifyInstance } from 'fastify';
import { problem, PROBLEM_CONTENT_TYPE } from './problem';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Starts draining (see installDraining). Idempotent. Called at the start of a graceful
     * shutdown, before the server stops accepting connections.
     */
    startDraining(): void;
  }
}

/** How soon a client should retry elsewhere, in seconds: another instance is up already. */
const SHUTTING_DOWN_RETRY_AFTER_S = 1;

/**
 * While draining:
 * - a request that arrives on an open keep-alive connection is answered at once with 503
 *   problem+json SHUTTING_DOWN, `Retry-After` and `Connection: close` (replacing Fastify's own
 *   `{"error":"Service Unavailable"}`, so `return503OnClosing` must be off);
 * - answers to requests already in flight carry `Connection: close`. Without it a keep-alive
 *   connection that was busy when the server began closing stays open after its last response
 *   (Fastify only closes connections that were idle at that moment), and the process waits
 *   for the client's keep-alive to lapse instead of exiting.
 */
export function installDraining(fastify: FastifyInstance): void {
  let draining = false;
  fastify.decorate('startDraining', () => {
    draining = true;
  });
  // Fastify's own close (app.close() without a signal, as in tests) drains too.
  fastify.addHook('preClose', (done) => {
    draining = true;
    done();
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!draining) {
      done();
      return;
    }
    void reply
      .code(503)
      .header('retry-after', String(SHUTTING_DOWN_RETRY_AFTER_S))
      .header('connection', 'close')
      .type(PROBLEM_CONTENT_TYPE)
      .send({
        ...problem(
          'SHUTTING_DOWN',
          'This instance is shutting down; the request was not applied. Retry it (another instance will answer).',
        ),
        instance: request.url.split('?')[0],
      });
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) void reply.header('connection', 'close');
    done(null, payload);
  });
}
