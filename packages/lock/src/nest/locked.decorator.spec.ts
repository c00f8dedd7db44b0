import { Controller, Get, Injectable, SetMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { LockError } from '../core/errors';
import { LockService } from '../core/lock-service';
import { isLocked, Locked } from './locked.decorator';

@Injectable()
class CouponsService {
  ran = 0;

  @Locked((code: string) => `coupon:${code}`, { waitMs: 50 })
  @SetMetadata('audit', 'redeem')
  redeem(code: string, amount: number): Promise<string> {
    this.ran++;
    return Promise.resolve(`${code}:${amount}`);
  }
}

@Controller('coupons')
class CouponsController {
  @Get(':code')
  @Locked((code: string) => [`coupon:${code}`, 'audit:log'])
  show(code: string): Promise<string> {
    return Promise.resolve(code);
  }
}

/** The same route without @Locked: what Nest's own decorators put on the method. */
@Controller('coupons')
class UnlockedTwinController {
  @Get(':code')
  show(code: string): Promise<string> {
    return Promise.resolve(code);
  }
}

/** Every metadata entry of the plain twin, with its value (no Nest-internal key names). */
function metadataOf(fn: object): Map<unknown, unknown> {
  return new Map(
    Reflect.getOwnMetadataKeys(fn).map((key) => [key, Reflect.getOwnMetadata(key, fn)]),
  );
}

describe('@Locked', () => {
  it('fails at boot when LockModule is not imported', async () => {
    await expect(
      Test.createTestingModule({ providers: [CouponsService] }).compile(),
    ).rejects.toThrow(/can't resolve dependencies of the CouponsService/);
  });

  it('fails at boot for controllers too', async () => {
    await expect(
      Test.createTestingModule({ controllers: [CouponsController] }).compile(),
    ).rejects.toThrow(/can't resolve dependencies of the CouponsController/);
  });

  it('keeps the method name and copies metadata to the wrapper', () => {
    const redeem = Object.getOwnPropertyDescriptor(CouponsService.prototype, 'redeem')?.value as (
      ...args: unknown[]
    ) => unknown;
    expect(redeem.name).toBe('redeem');
    expect(Reflect.getMetadata('audit', redeem)).toBe('redeem');
    const show = Object.getOwnPropertyDescriptor(CouponsController.prototype, 'show')?.value as (
      ...args: unknown[]
    ) => unknown;
    expect(show.name).toBe('show');
    // The route's path (':code') and HTTP method, as Nest's @Get put them on the plain twin.
    const expected = metadataOf(UnlockedTwinController.prototype.show);
    expect([...expected.values()]).toContain(':code');
    expect(expected.size).toBeGreaterThanOrEqual(2);
    expect(metadataOf(show)).toEqual(expected);
  });

  it('marks the methods it wraps for isLocked, and only those', () => {
    expect(isLocked(CouponsService.prototype.redeem)).toBe(true);
    expect(isLocked(CouponsController.prototype.show)).toBe(true);
    expect(isLocked(UnlockedTwinController.prototype.show)).toBe(false);
    expect(isLocked(undefined)).toBe(false);
  });

  it('never runs the method unlocked when constructed outside DI', async () => {
    const service = new CouponsService();
    await expect(service.redeem('X', 1)).rejects.toBeInstanceOf(LockError);
    await expect(service.redeem('X', 1)).rejects.toMatchObject({ code: 'LOCK_MISCONFIGURED' });
    expect(service.ran).toBe(0);
  });

  it('resolves LockService through DI and passes the typed arguments to the key function', async () => {
    const calls: unknown[][] = [];
    const fake = Object.assign(Object.create(LockService.prototype) as LockService, {
      withLock: (keys: unknown, opts: unknown, fn: () => Promise<unknown>) => {
        calls.push([keys, opts]);
        return fn();
      },
      onApplicationShutdown: () => Promise.resolve(),
    });
    const moduleRef = await Test.createTestingModule({
      providers: [CouponsService, { provide: LockService, useValue: fake }],
    }).compile();
    const service = moduleRef.get(CouponsService);
    await expect(service.redeem('SPRING', 5)).resolves.toBe('SPRING:5');
    expect(calls).toEqual([['coupon:SPRING', { waitMs: 50 }]]);
    expect(service.ran).toBe(1);
    await moduleRef.close();
  });

  it('rejects static methods and non-methods', () => {
    expect(() => {
      class Bad {
        @Locked(() => 'x')
        static async run(): Promise<void> {}
      }
      return Bad;
    }).toThrow(TypeError);
  });
});
