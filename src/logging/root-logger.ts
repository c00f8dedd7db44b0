import { Module } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import { AppConfig } from '../config/app-config';

/** The app's pino instance: nestjs-pino logs through it, and so does the access log. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** Request headers that carry secrets; they never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
];

@Module({
  providers: [
    {
      provide: ROOT_LOGGER,
      inject: [AppConfig],
      useFactory: (config: AppConfig): Logger =>
        pino({
          level: config.get('LOG_LEVEL'),
          redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
        }),
    },
  ],
  exports: [ROOT_LOGGER],
})
export class RootLoggerModule {}
