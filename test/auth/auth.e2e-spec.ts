import { startApp, type RunningApp } from '../support/app';
import { STOREFRONT_KEY } from '../support/test-env';

const SECOND_STOREFRONT_KEY = 'test-storefront-key-0002';

/** Auth on the real application's routes (contract: the README's API table). */
describe('API key auth (application routes)', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({
      STOREFRONT_API_KEYS: `${STOREFRONT_KEY},${SECOND_STOREFRONT_KEY}`,
    });
  });

  afterAll(async () => {
    await running?.close();
  });

  describe('public routes', () => {
    it('serves /health, /metrics and the OpenAPI document without a key', async () => {
      expect((await running.anonymous.get('/health')).status).toBe(200);
      const metrics = await running.anonymous.get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
      expect((await running.anonymous.get('/docs/openapi.json')).status).toBe(200);
    });

    it('ignores a wrong key on public routes', async () => {
      const wrong = running.anonymous.withKey('not-a-configured-key');
      try {
        expect((await wrong.get('/health')).status).toBe(200);
        expect((await wrong.get('/metrics')).status).toBe(200);
      } finally {
        await wrong.close();
      }
    });
  });

  describe('GET /v1/coupons/:code (any key)', () => {
    it('is 401 UNAUTHENTICATED without a key', async () => {
      const response = await running.anonymous.get('/v1/coupons/ANY');
      expect(response.status).toBe(401);
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.headers['www-authenticate']).toBe('ApiKey header="x-api-key"');
      expect(response.body).toMatchObject({
        status: 401,
        code: 'UNAUTHENTICATED',
        instance: '/v1/coupons/ANY',
      });
    });

    it('is 401 UNAUTHENTICATED with an unknown key', async () => {
      const wrong = running.anonymous.withKey('not-a-configured-key');
      try {
        const response = await wrong.get('/v1/coupons/ANY');
        expect(response.status).toBe(401);
        expect(response.body.code).toBe('UNAUTHENTICATED');
      } finally {
        await wrong.close();
      }
    });

    it('lets storefront keys (each of the rotation list) and admin keys through to the route', async () => {
      const second = running.anonymous.withKey(SECOND_STOREFRONT_KEY);
      try {
        for (const client of [running.api, second, running.admin]) {
          const response = await client.get('/v1/coupons/ANY');
          expect(response.status).toBe(404);
          expect(response.body.code).toBe('COUPON_NOT_FOUND');
        }
      } finally {
        await second.close();
      }
    });
  });

  describe('POST /v1/coupons (admin only)', () => {
    it('is 401 UNAUTHENTICATED without a key', async () => {
      const response = await running.anonymous.post('/v1/coupons', {});
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('UNAUTHENTICATED');
    });

    it('is 403 FORBIDDEN with a storefront key, before the body is even validated', async () => {
      const response = await running.api.post('/v1/coupons', {});
      expect(response.status).toBe(403);
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.body).toMatchObject({
        status: 403,
        code: 'FORBIDDEN',
        instance: '/v1/coupons',
      });
    });

    it('lets an admin key through to validation (400, not 401/403)', async () => {
      const response = await running.admin.post('/v1/coupons', {});
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    });
  });
});
