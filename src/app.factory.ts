import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { Logger as PinoInstance } from 'pino';
import type { Registry } from 'prom-client';
import { AppModule } from './app.module';
import { answerClientError, answerFrameworkError } from './common/http/client-errors';
import { installDraining } from './common/http/draining';
import { useStrictJsonBodyParser } from './common/http/json-body-parser';
import { trackRoutes } from './common/http/method-not-allowed';
import { createValidationPipe } from './common/http/validation.pipe';
import { AppConfig } from './config/app-config';
import { parseTrustProxy, validateEnvironment } from './config/environment';
import { mountDemoPage } from './demo/demo-page';
import { registerAccessLog } from './logging/access-log';
import { documentProblems } from './openapi/problem-responses';
import { requestIdFor } from './logging/request-id';
import { ROOT_LOGGER } from './logging/root-logger';
import { registerHttpMetrics } from './metrics/http-metrics.hook';
import { createHttpDurationHistogram, METRICS_REGISTRY } from './metrics/metrics.registry';

export const API_DOCS_PATH = 'docs';

/**
 * Builds the fully configured application without listening, so main.ts and the tests run
 * exactly the same wiring.
 */
export async function createApp(): Promise<NestFastifyApplication> {
  loadDotEnv();
  // Validate before Nest boots: a bad variable then stops start-up with one clear line.
  const env = validateEnvironment(process.env);
  const adapter = new FastifyAdapter({
    bodyLimit: env.BODY_LIMIT_BYTES,
    // Request-scoped logs come from nestjs-pino, the access log from logging/access-log.ts;
    // Fastify's own logger stays off.
    logger: false,
    // Draining answers with problem+json itself (common/http/draining.ts).
    return503OnClosing: false,
    genReqId: requestIdFor,
    // Behind nginx the socket's peer is nginx; TRUST_PROXY says whose X-Forwarded-For to
    // believe, so request.ip (and the access log) show the real client.
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    // A client that takes longer than this to send its request gets 408 problem+json.
    requestTimeout: env.HTTP_REQUEST_TIMEOUT_MS,
    http: {
      headersTimeout: Math.min(60_000, env.HTTP_REQUEST_TIMEOUT_MS),
      requestTimeout: env.HTTP_REQUEST_TIMEOUT_MS,
      // How often Node looks for requests past their timeout (its default is 30 s).
      connectionsCheckingInterval: 1000,
    },
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  // Before any route exists, so every route is seen.
  trackRoutes(adapter.getInstance());
  // The unsafe teaching-aid routes exist only when asked for, and never in production.
  const naiveRoutes = env.NAIVE_ROUTES_ENABLED && env.NODE_ENV !== 'production';
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot({ naiveRoutes }),
    adapter,
    {
      bufferLogs: true,
      abortOnError: false,
      // We install the only body parser ourselves (JSON); anything else gets 415.
      bodyParser: false,
    },
  );
  app.useLogger(app.get(Logger));
  app.useGlobalPipes(createValidationPipe());

  const fastify = app.getHttpAdapter().getInstance();
  // Fastify's parse errors reach Nest's global filter too (Nest maps FastifyErrors to
  // HttpExceptions); this only sharpens the code for broken JSON.
  useStrictJsonBodyParser(fastify);
  installDraining(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  registerHttpMetrics(fastify, createHttpDurationHistogram(app.get<Registry>(METRICS_REGISTRY)));
  registerAccessLog(fastify, app.get<PinoInstance>(ROOT_LOGGER));

  if (naiveRoutes) mountDemoPage(app);
  setUpApiDocs(app);
  return app;
}

/** .env is a local convenience; variables already set (by the shell, CI, Docker) win. */
function loadDotEnv(): void {
  if (process.env.NODE_ENV !== 'test' && existsSync('.env')) process.loadEnvFile('.env');
}

function setUpApiDocs(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('couponlock')
      .setDescription(
        'Coupon redemption and stock decrement under Redis locks with fencing tokens. ' +
          'Errors are RFC 9457 application/problem+json with a stable `code`.',
      )
      .setVersion('1')
      .setLicense('MIT', 'https://opensource.org/license/mit')
      // Relative: the document describes whichever instance or balancer serves it.
      .addServer('/', 'The server this document was fetched from')
      .addApiKey({ type: 'apiKey', name: 'x-api-key', in: 'header' }, 'api-key')
      .build(),
  );
  markPublicOperations(document);
  documentProblems(app, document);
  SwaggerModule.setup(API_DOCS_PATH, app, document, {
    jsonDocumentUrl: `${API_DOCS_PATH}/openapi.json`,
  });
  // Also at Nest's usual place, where generators and linters look for it first.
  app
    .getHttpAdapter()
    .getInstance()
    .get(`/${API_DOCS_PATH}-json`, (_request, reply) => reply.send(document));
}

/**
 * Operations without a security requirement are the @Public() ones (probes, metrics): say so
 * with an explicit empty requirement, as OpenAPI linters ask. The e2e test of the document
 * checks that exactly those operations answer without a key.
 */
function markPublicOperations(document: OpenAPIObject): void {
  for (const pathItem of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const) {
      const operation = pathItem[method];
      if (operation && operation.security === undefined) operation.security = [];
    }
  }
}

export function listenPort(app: INestApplication): number {
  return app.get(AppConfig).get('PORT');
}
