import type { FastifyRequest } from 'fastify';

export const ROLES = ['admin', 'storefront'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: a role and a stable, non-secret id of the API key used. */
export interface Principal {
  readonly role: Role;
  /** First 12 hex characters of the key's SHA-256: safe to log, stable across restarts. */
  readonly keyId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by ApiKeyGuard on every route that is not @Public(). */
    principal?: Principal;
  }
}

/** The caller of a request the guard let through, or undefined on @Public() routes. */
export function principalOf(request: FastifyRequest): Principal | undefined {
  return request.principal;
}
