import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';

@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.get('LOG_LEVEL'),
          // Fastify assigns request.id (see request-id.ts); pino-http logs that same id.
          genReqId: (request) => request.id,
          redact: {
            paths: ['req.headers["x-api-key"]', 'req.headers.authorization', 'req.headers.cookie'],
            censor: '[redacted]',
          },
          // Health probes and scrapes would drown the log at info level.
          autoLogging: {
            ignore: (request) => request.url === '/health' || request.url === '/metrics',
          },
          customLogLevel: (_request, response, error) =>
            error || response.statusCode >= 500
              ? 'error'
              : response.statusCode >= 400
                ? 'info'
                : 'debug',
        },
      }),
    }),
  ],
})
export class LoggingModule {}
