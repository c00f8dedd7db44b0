import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AppConfig } from './app-config';
import { validateEnvironment } from './environment';

@Module({})
export class AppConfigModule {
  /**
   * Reads and validates process.env when called (at app creation), not when this file is
   * imported, so tests can set variables before they boot an app.
   */
  static forRoot(): DynamicModule {
    return {
      module: AppConfigModule,
      global: true,
      imports: [
        ConfigModule.forRoot({
          // app.factory.ts loads .env (if any) into process.env before Nest boots.
          ignoreEnvFile: true,
          cache: true,
          validate: validateEnvironment,
        }),
      ],
      providers: [AppConfig],
      exports: [AppConfig],
    };
  }
}
