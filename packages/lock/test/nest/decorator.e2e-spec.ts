import { Controller, Get, Injectable, Module, Param } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, type TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import {
  currentLock,
  Locked,
  LockModule,
  LockService,
  type Lock,
  type LockModuleOptions,
} from '../../src';
import { RecordingLogger, SHARED_REDIS_URL, uniquePrefix } from '../support/lock-test-kit';

interface Seen {
  lock: Lock | undefined;
}

let evalshaCalls = 0;

@Injectable()
class CouponsService {
  seen: Seen[] = [];

  @Locked((code: string) => `coupon:${code}`, { waitMs: 20 })
  redeem(code: string): Promise<string> {
    const lock = currentLock();
    this.seen.push({ lock });
    return Promise.resolve(`${code}:${lock?.fence}`);
  }

  @Locked((code: string, orderId: string) => [`coupon:${code}`, `order:${orderId}`])
  redeemForOrder(_code: string, _orderId: string): Promise<Lock | undefined> {
    return Promise.resolve(currentLock());
  }
}

@Injectable()
class OrdersService {
  constructor(private readonly coupons: CouponsService) {}

  @Locked((code: string, skus: readonly string[]) => [
    `coupon:${code}`,
    ...skus.map((s) => `sku:${s}`),
  ])
  async place(
    code: string,
    _skus: readonly string[],
  ): Promise<{
    outer: Lock;
    inner: Seen;
    innerMs: number;
    innerEvalsha: number;
    heldAfterInner: boolean;
  }> {
    const outer = currentLock() as Lock;
    const before = evalshaCalls;
    const t0 = performance.now();
    await this.coupons.redeem(code);
    const innerMs = performance.now() - t0;
    const inner = this.coupons.seen[this.coupons.seen.length - 1];
    return {
      outer,
      inner,
      innerMs,
      innerEvalsha: evalshaCalls - before,
      heldAfterInner: outer.held,
    };
  }
}

@Controller('plain')
class PlainController {
  @Get(':id')
  @Locked((id: string) => `plain:${id}`)
  show(@Param('id') id: string): Promise<string | undefined> {
    return Promise.resolve(currentLock()?.fence && id);
  }
}

@Module({ providers: [CouponsService, OrdersService], controllers: [PlainController] })
class ShopModule {}

describe('@Locked with Nest DI and a real Redis', () => {
  const prefix = uniquePrefix('decorator');
  const raw = new Redis(SHARED_REDIS_URL);
  let client: Redis;
  let moduleRef: TestingModule;

  beforeAll(async () => {
    client = new Redis(SHARED_REDIS_URL, { enableOfflineQueue: false });
    await new Promise((resolve) => client.once('ready', resolve));
    const original = client.evalsha.bind(client);
    jest.spyOn(client, 'evalsha').mockImplementation((...args: Parameters<typeof original>) => {
      evalshaCalls++;
      return original(...args);
    });
    moduleRef = await Test.createTestingModule({
      imports: [
        LockModule.forRoot({
          redis: { clients: [client] },
          keyPrefix: prefix,
          logger: new RecordingLogger(),
        }),
        ShopModule,
      ],
    }).compile();
    await moduleRef.init();
  });

  afterAll(async () => {
    await moduleRef.close();
    client.disconnect();
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
  });

  it('nested @Locked on a held key is reentrant: same fence, no Redis call, no wait', async () => {
    const orders = moduleRef.get(OrdersService);
    const result = await orders.place('X', ['B', 'A']);
    expect(result.outer.keys).toEqual(['coupon:X', 'sku:A', 'sku:B']);
    expect(result.inner.lock?.reentrant).toBe(true);
    expect(result.inner.lock?.fence).toBe(result.outer.fenceFor('coupon:X'));
    expect(result.innerEvalsha).toBe(0);
    // waitMs is 20 for redeem: a real wait on the outer's key would have timed out.
    expect(result.innerMs).toBeLessThan(20);
    expect(result.heldAfterInner).toBe(true);
    expect(result.outer.held).toBe(false); // released after place() returned
    expect(await raw.exists(`${prefix}lock:{coupon:X}`)).toBe(0);
  });

  it('the inner call does not release the outer lock', async () => {
    const coupons = moduleRef.get(CouponsService);
    const service = moduleRef.get(LockService);
    await service.withLock('coupon:Y', async (outer) => {
      await coupons.redeem('Y');
      expect(outer.held).toBe(true);
      expect(await raw.exists(`${prefix}lock:{coupon:Y}`)).toBe(1);
    });
    expect(await raw.exists(`${prefix}lock:{coupon:Y}`)).toBe(0);
  });

  it('partially held keys: only the missing ones are taken, and only they are released', async () => {
    const coupons = moduleRef.get(CouponsService);
    const service = moduleRef.get(LockService);
    await service.withLock('coupon:Z', async (outer) => {
      const inner = await coupons.redeemForOrder('Z', 'o-1');
      expect(inner?.reentrant).toBe(true);
      expect(inner?.fenceFor('coupon:Z')).toBe(outer.fence);
      expect(inner?.fenceFor('order:o-1')).toMatch(/^[0-9]+$/);
      // Inner returned: its own key is gone, the outer one is still held.
      expect(await raw.exists(`${prefix}lock:{order:o-1}`)).toBe(0);
      expect(await raw.exists(`${prefix}lock:{coupon:Z}`)).toBe(1);
    });
  });

  it('works on a controller method, called as a plain method', async () => {
    const controller = moduleRef.get(PlainController);
    await expect(controller.show('7')).resolves.toBe('7');
    expect(PlainController.prototype.show.name).toBe('show');
    // The route path survives on the wrapper (and the route answers: see forRootAsync below).
    const metadata = Reflect.getOwnMetadataKeys(PlainController.prototype.show).map(
      (key): unknown => Reflect.getOwnMetadata(key, PlainController.prototype.show),
    );
    expect(metadata).toContain(':id');
  });

  it('contending callers of a @Locked method are serialised', async () => {
    const coupons = moduleRef.get(CouponsService);
    const service = moduleRef.get(LockService);
    const held = await service.acquire('coupon:W');
    await expect(coupons.redeem('W')).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await held.release();
    await expect(coupons.redeem('W')).resolves.toMatch(/^W:[0-9]+$/);
  });
});

describe('@Locked wiring without LockModule', () => {
  it('fails at boot instead of running unlocked', async () => {
    await expect(
      Test.createTestingModule({ providers: [CouponsService, OrdersService] }).compile(),
    ).rejects.toThrow(/Nest can't resolve dependencies of the (CouponsService|OrdersService)/);
  });
});

describe('LockModule.forRootAsync', () => {
  it('builds the service from a factory with injected config and closes its connections', async () => {
    const CONFIG = Symbol('CONFIG');
    const prefix = uniquePrefix('async');
    @Module({
      providers: [{ provide: CONFIG, useValue: { url: SHARED_REDIS_URL, prefix } }],
      exports: [CONFIG],
    })
    class ConfigModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [
        LockModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { url: string; prefix: string }): LockModuleOptions => ({
            backend: 'redis',
            redis: { mode: 'single', urls: [config.url] },
            keyPrefix: config.prefix,
            logger: new RecordingLogger(),
          }),
        }),
      ],
      providers: [CouponsService],
      controllers: [PlainController],
    }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const coupons = app.get(CouponsService);
    await expect(coupons.redeem('ASYNC')).resolves.toMatch(/^ASYNC:[0-9]+$/);
    // The route registered from the wrapper's copied metadata and runs under the lock.
    const response = await app.inject({ method: 'GET', url: '/plain/42' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('42');
    await app.close();
    await expect(app.get(LockService).acquire('x')).rejects.toMatchObject({
      code: 'LOCK_SHUTTING_DOWN',
    });
    const raw = new Redis(SHARED_REDIS_URL);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
  });
});
