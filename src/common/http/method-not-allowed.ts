import type { FastifyInstance } from 'fastify';
import FindMyWay from 'find-my-way';

declare module 'fastify' {
  interface FastifyInstance {
    /** The methods some route serves for this URL (empty: no route has this path at all). */
    allowedMethods(url: string): string[];
  }
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Lets a 404 for an unknown method on a known path become 405 with `Allow` (RFC 9110 15.5.6):
 * every route Fastify registers is mirrored into a second router of the same kind Fastify
 * uses (find-my-way), which can then be asked which methods match a concrete URL. Must be
 * installed before any route is registered.
 */
export function trackRoutes(fastify: FastifyInstance): void {
  const router = FindMyWay();
  const noop = (): void => undefined;
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if ((METHODS as readonly string[]).includes(method))
        router.on(method as never, route.url, noop);
    }
  });
  fastify.decorate('allowedMethods', (url: string) => {
    const path = url.split('?')[0] ?? url;
    return METHODS.filter((method) => router.find(method, path) !== null);
  });
}
