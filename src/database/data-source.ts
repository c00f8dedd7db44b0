/**
 * DataSource for the TypeORM CLI (`npm run migration:generate|run|revert`).
 * It reads DATABASE_URL from the environment, or from .env when present.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

if (existsSync('.env')) process.loadEnvFile('.env');

const url = process.env.DATABASE_URL;
if (!url) {
  throw new Error('DATABASE_URL is not set (copy .env.example to .env or export it)');
}

export default new DataSource(
  dataSourceOptions({
    url,
    poolSize: 2,
    applicationName: 'couponlock-cli',
    // Migrations may legitimately run long.
    statementTimeoutMs: 0,
  }),
);
