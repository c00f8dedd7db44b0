import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * Probes and scrapes arrive every few seconds from every balancer and Prometheus; logging
 * them would drown the requests that matter. Their failures show in the balancer instead.
 */
const QUIET_ROUTES: ReadonlySet<string> = new Set([
  '/health',
  '/health/live',
  '/health/ready',
  '/metrics',
]);

/** One access-log line. The API key is never part of it: `keyId` is its non-secret id. */
export interface AccessLogEntry {
  method: string;
  /** Route template (`/v1/coupons/:code/redeem`), or `unmatched` for a 404 with no route. */
  route: string;
  /** The path as sent, without the query string. */
  path: string;
  status: number;
  /** From the request's arrival to the last byte handed to the socket, in ms (0.1 ms steps). */
  latencyMs: number;
  requestId: string;
  /** The client address; behind a proxy, real only with TRUST_PROXY set (see environment.ts). */
  ip: string;
  /** The caller, when an API key was accepted (absent on public routes and 401s). */
  role?: string;
  keyId?: string;
}

export function accessLogEntry(request: FastifyRequest, reply: FastifyReply): AccessLogEntry {
  const queryAt = request.url.indexOf('?');
  return {
    method: request.method,
    route: request.routeOptions.url ?? 'unmatched',
    path: queryAt === -1 ? request.url : request.url.slice(0, queryAt),
    status: reply.statusCode,
    latencyMs: Math.round(reply.elapsedTime * 10) / 10,
    requestId: request.id,
    ip: request.ip,
    ...(request.principal && { role: request.principal.role, keyId: request.principal.keyId }),
  };
}

/**
 * Logs every answered request once, at info (error for 5xx, so faults stand out), from
 * Fastify's onResponse hook: it also sees 404s, 413s and errors that never reach Nest.
 */
export function registerAccessLog(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const entry = accessLogEntry(request, reply);
    if (!QUIET_ROUTES.has(entry.route)) {
      if (entry.status >= 500) logger.error(entry, 'request completed');
      else logger.info(entry, 'request completed');
    }
    done();
  });
}
