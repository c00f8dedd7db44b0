import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** An incoming id is reused only if it is short and plain, so it can't forge log lines. */
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Fastify's genReqId: keep the caller's x-request-id for tracing across hops, or mint one. */
export function requestIdFor(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}
