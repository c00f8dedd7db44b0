import type { FastifyInstance } from 'fastify';
import type { Histogram } from 'prom-client';

/**
 * Times every request, including 404s and errors that never reach a Nest handler.
 * The route label is the route template (`/v1/coupons/:code`), never the raw URL, so label
 * cardinality stays bounded no matter what clients send.
 */
export function registerHttpMetrics(
  fastify: FastifyInstance,
  histogram: Histogram<'method' | 'route' | 'status_code'>,
): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    histogram.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
