import { resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** The page's files: plain HTML, CSS and JS, no build step (from src/demo or dist/demo). */
export const DEMO_PAGE_ROOT = resolve(__dirname, '..', '..', 'src', 'demo', 'public');

/**
 * Serves the live storm page at /demo/ (createApp calls this only where DemoModule is mounted).
 * The files are public; everything they call needs the admin key the page asks for.
 */
export function mountDemoPage(app: NestFastifyApplication): void {
  app.useStaticAssets({
    root: DEMO_PAGE_ROOT,
    prefix: '/demo/',
    decorateReply: false,
    index: 'index.html',
  });
  // Relative links in the page (demo.js, demo.css) need the trailing slash.
  app
    .getHttpAdapter()
    .getInstance()
    .get('/demo', (_request, reply) => reply.redirect('/demo/', 308));
}
