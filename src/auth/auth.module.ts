import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ApiKeyVerifier } from './api-key-verifier';

/**
 * Provides the key verifier, built once from the configured key lists. ApiKeyGuard becomes
 * global through APP_GUARD in AppModule, next to the other global providers, so their order
 * is visible in one place.
 */
@Module({
  providers: [
    {
      provide: ApiKeyVerifier,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new ApiKeyVerifier({
          admin: config.get('ADMIN_API_KEYS'),
          storefront: config.get('STOREFRONT_API_KEYS'),
        }),
    },
  ],
  exports: [ApiKeyVerifier],
})
export class AuthModule {}
