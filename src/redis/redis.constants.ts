/** Injection token of the shared ioredis client (commands only; never put into subscriber mode). */
export const REDIS = Symbol('REDIS');
