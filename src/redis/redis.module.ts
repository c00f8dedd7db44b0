import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { REDIS } from './redis.constants';

const logger = new Logger('Redis');

export function createRedisClient(url: string, keyPrefix: string, name: string): Redis {
  const client = new Redis(url, {
    keyPrefix,
    connectionName: name,
    // Fail a command at once while disconnected instead of queueing it: health checks and
    // callers should see an outage now, not after the reconnect finishes.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  client.on('ready', () => logger.log(`${name} connected to ${redactUrl(url)}`));
  client.on('reconnecting', (delayMs: number) =>
    logger.warn(`${name} reconnecting in ${delayMs} ms`),
  );
  client.on('end', () => logger.log(`${name} connection closed`));
  client.on('error', (error: Error) => logger.warn(`${name} error: ${error.message}`));
  return client;
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        createRedisClient(config.get('REDIS_URL'), config.get('REDIS_KEY_PREFIX'), 'app'),
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    // quit() lets queued replies arrive; disconnect() covers a client that never connected.
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
