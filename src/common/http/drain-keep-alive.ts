import type { FastifyInstance } from 'fastify';

/**
 * During shutdown, answers to requests already in flight carry `Connection: close`. Without it
 * a keep-alive connection that was busy when the server began closing stays open after its
 * last response (Fastify only closes connections that were idle at that moment), and the
 * process waits for the client's keep-alive to lapse instead of exiting.
 */
export function closeKeepAliveWhileDraining(fastify: FastifyInstance): void {
  let draining = false;
  fastify.addHook('preClose', (done) => {
    draining = true;
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) void reply.header('connection', 'close');
    done(null, payload);
  });
}
