import { keyIdOf } from '../../src/auth/api-key-verifier';
import { startProbeApp, type ProbeApp } from '../idempotency/support/probe-app';
import { ADMIN_KEY, STOREFRONT_KEY } from '../support/test-env';

const SECOND_ADMIN_KEY = 'test-admin-key-0002';
const SECOND_STOREFRONT_KEY = 'test-storefront-key-0002';

/** The global guard over throwaway routes, through real HTTP (see probe-app.ts). */
describe('API key guard (probe routes)', () => {
  let probe: ProbeApp;

  beforeAll(async () => {
    probe = await startProbeApp({
      ADMIN_API_KEYS: `${ADMIN_KEY},${SECOND_ADMIN_KEY}`,
      STOREFRONT_API_KEYS: `${STOREFRONT_KEY}, ${SECOND_STOREFRONT_KEY}`,
    });
  });

  afterAll(async () => {
    await probe?.close();
  });

  it('answers a missing key with 401 UNAUTHENTICATED problem+json and WWW-Authenticate', async () => {
    const response = await probe.anonymous.get('/probe/whoami');
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.headers['www-authenticate']).toBe('ApiKey header="x-api-key"');
    expect(response.body).toEqual({
      type: 'urn:couponlock:problem:unauthenticated',
      title: 'Unauthorized',
      status: 401,
      code: 'UNAUTHENTICATED',
      detail: 'An API key is required: send it in the x-api-key header.',
      instance: '/probe/whoami',
    });
  });

  it('answers an unknown key with 401 UNAUTHENTICATED, on default and admin routes', async () => {
    const wrong = probe.client('not-a-configured-key');
    const read = await wrong.get('/probe/whoami');
    expect(read.status).toBe(401);
    expect(read.body.code).toBe('UNAUTHENTICATED');
    expect(read.body.detail).toBe('The API key in the x-api-key header is not valid.');
    const admin = await wrong.post('/probe/admin', {});
    expect(admin.status).toBe(401);
    expect(admin.body.code).toBe('UNAUTHENTICATED');
  });

  it('puts the principal on the request, with a key id and never the key', async () => {
    const storefront = await probe.api.get('/probe/whoami');
    expect(storefront.status).toBe(200);
    expect(storefront.body).toEqual({ role: 'storefront', keyId: keyIdOf(STOREFRONT_KEY) });
    const admin = await probe.admin.get('/probe/whoami');
    expect(admin.body).toEqual({ role: 'admin', keyId: keyIdOf(ADMIN_KEY) });
  });

  it('accepts every key of a rotation list', async () => {
    const storefront = await probe.client(SECOND_STOREFRONT_KEY).get('/probe/whoami');
    expect(storefront.status).toBe(200);
    expect(storefront.body).toEqual({ role: 'storefront', keyId: keyIdOf(SECOND_STOREFRONT_KEY) });
    const admin = await probe.client(SECOND_ADMIN_KEY).post('/probe/admin', {});
    expect(admin.status).toBe(201);
    expect(admin.body).toEqual({ admin: true });
  });

  it('answers a storefront key on an admin route with 403 FORBIDDEN', async () => {
    const response = await probe.api.post('/probe/admin', {});
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.body).toEqual({
      type: 'urn:couponlock:problem:forbidden',
      title: 'Forbidden',
      status: 403,
      code: 'FORBIDDEN',
      detail: 'This operation requires an admin API key.',
      instance: '/probe/admin',
    });
    const admin = await probe.admin.post('/probe/admin', {});
    expect(admin.status).toBe(201);
  });

  it('checks the key before the body: no key and a broken body is still 401', async () => {
    const response = await probe.anonymous.request(
      'POST',
      '/probe/counters/x/increment',
      undefined,
      { 'content-type': 'application/json', 'idempotency-key': 'has space' },
      '{"by": 1}',
    );
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('UNAUTHENTICATED');
  });
});
