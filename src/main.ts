import { Logger } from '@nestjs/common';
import { API_DOCS_PATH, createApp, listenPort } from './app.factory';
import { AppConfig } from './config/app-config';
import { InvalidEnvironmentError } from './config/environment';

async function main(): Promise<void> {
  const app = await createApp();
  const logger = new Logger('Main');
  const port = listenPort(app);
  await app.listen(port, '0.0.0.0');
  logger.log(`listening on http://localhost:${port} (API docs at /${API_DOCS_PATH})`);

  const graceMs = app.get(AppConfig).get('SHUTDOWN_GRACE_MS');
  let closing = false;
  const shutDown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: draining in-flight requests`);
    // Fastify stops accepting, finishes in-flight requests, then Nest closes the pools.
    const deadline = setTimeout(() => {
      logger.error(`shutdown took longer than ${graceMs} ms; exiting`);
      process.exit(1);
    }, graceMs);
    deadline.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutDown);
  process.once('SIGINT', shutDown);
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
