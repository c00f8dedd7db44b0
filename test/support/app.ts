import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { ApiClient } from './http';
import { ADMIN_KEY, STOREFRONT_KEY, testEnvironment } from './test-env';

export interface RunningApp {
  app: NestFastifyApplication;
  url: string;
  /** Client with the storefront key. */
  api: ApiClient;
  /** Client with the admin key. */
  admin: ApiClient;
  /** Client without a key. */
  anonymous: ApiClient;
  close(): Promise<void>;
}

/**
 * Boots the real application in this process (same wiring as main.ts) on a random port.
 * `overrides` are environment variables on top of the test environment.
 */
export async function startApp(overrides: Record<string, string> = {}): Promise<RunningApp> {
  const saved = { ...process.env };
  Object.assign(process.env, testEnvironment(overrides));
  try {
    const app = await createApp();
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    const clients = [
      new ApiClient(url, STOREFRONT_KEY),
      new ApiClient(url, ADMIN_KEY),
      new ApiClient(url),
    ];
    const [api, admin, anonymous] = clients as [ApiClient, ApiClient, ApiClient];
    return {
      app,
      url,
      api,
      admin,
      anonymous,
      close: async () => {
        await Promise.all(clients.map((client) => client.close()));
        await app.close();
      },
    };
  } finally {
    process.env = saved;
  }
}
