import { Logger as NestLogger } from '@nestjs/common';
import { AbstractLogger, type LogLevel, type LogMessage } from 'typeorm';

/**
 * Routes TypeORM's own messages (migrations, schema, warnings) through the application logger,
 * so they are structured JSON like everything else. Failed queries are not logged here: a
 * violated constraint is how the hot paths say "no" (coupon exhausted, limit reached), and
 * real failures surface through the exception filter.
 */
export class TypeOrmNestLogger extends AbstractLogger {
  private readonly logger = new NestLogger('TypeORM');

  protected override writeLog(level: LogLevel, message: LogMessage | LogMessage[]): void {
    for (const { message: text } of Array.isArray(message) ? message : [message]) {
      const line = typeof text === 'string' ? text : JSON.stringify(text);
      if (level === 'warn') this.logger.warn(line);
      else if (level === 'error') this.logger.error(line);
      else this.logger.log(line);
    }
  }
}
