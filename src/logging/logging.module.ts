import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { ROOT_LOGGER, RootLoggerModule } from './root-logger';

@Module({
  imports: [
    RootLoggerModule,
    LoggerModule.forRootAsync({
      imports: [RootLoggerModule],
      inject: [ROOT_LOGGER],
      useFactory: (logger: Logger) => ({
        pinoHttp: {
          logger,
          // Fastify assigns request.id (see request-id.ts); pino-http logs that same id.
          genReqId: (request) => request.id,
          // The access log is one line per request written by access-log.ts, which knows the
          // route template and the caller; pino-http only scopes the other lines to a request.
          autoLogging: false,
        },
      }),
    }),
  ],
  exports: [RootLoggerModule],
})
export class LoggingModule {}
