import { Logger, Module, type OnModuleInit } from '@nestjs/common';
import { NaiveController } from './naive.controller';
import { NaiveRepository } from './naive.repository';
import { NaiveService } from './naive.service';

/**
 * TEACHING AID: the deliberately unsafe /v1/naive redeem routes (see naive.service.ts for what
 * is wrong and why). AppModule imports this module only when NAIVE_ROUTES_ENABLED=true and
 * NODE_ENV is not production; otherwise the routes do not exist (404).
 */
@Module({
  controllers: [NaiveController],
  providers: [NaiveService, NaiveRepository],
})
export class NaiveModule implements OnModuleInit {
  onModuleInit(): void {
    new Logger('Naive').warn(
      'NAIVE_ROUTES_ENABLED: the deliberately unsafe /v1/naive routes are mounted (teaching aid; never in production)',
    );
  }
}
