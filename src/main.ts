import { Logger } from '@nestjs/common';
import { API_DOCS_PATH, createApp, listenPort } from './app.factory';
import { AppConfig } from './config/app-config';
import { InvalidEnvironmentError } from './config/environment';
import { GracefulShutdown } from './lifecycle/graceful-shutdown';

async function main(): Promise<void> {
  const app = await createApp();
  const logger = new Logger('Main');
  const port = listenPort(app);
  await app.listen(port, '0.0.0.0');
  logger.log(`listening on http://localhost:${port} (API docs at /${API_DOCS_PATH})`);

  new GracefulShutdown(app, app.get(AppConfig).get('SHUTDOWN_GRACE_MS')).listen();
}

main().catch((error: unknown) => {
  // One line, naming the problem: the environment error lists the offending variables.
  const message =
    error instanceof InvalidEnvironmentError || error instanceof Error
      ? error.message
      : String(error);
  process.stderr.write(`couponlock failed to start: ${message}\n`);
  process.exit(1);
});
