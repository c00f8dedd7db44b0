import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Environment } from './environment';

/**
 * Typed, read-only view of the validated environment. Inject this rather than reading
 * process.env, so every setting has one name, one type and one default.
 */
@Injectable()
export class AppConfig {
  constructor(private readonly config: ConfigService<Environment, true>) {}

  get<K extends keyof Environment>(key: K): Environment[K] {
    return this.config.get(key, { infer: true });
  }

  get isProduction(): boolean {
    return this.get('NODE_ENV') === 'production';
  }

  get runMigrationsAtStart(): boolean {
    return this.get('DATABASE_MIGRATIONS_RUN') ?? !this.isProduction;
  }

  get naiveRoutesEnabled(): boolean {
    return this.get('NAIVE_ROUTES_ENABLED') && !this.isProduction;
  }
}
