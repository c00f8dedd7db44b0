import { Controller, Get, Injectable, SetMetadata } from '@nestjs/common';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { Test } from '@nestjs/testing';
import { LockError } from './errors';
import { Locked } from './locked.decorator';
import { LockService } from './lock.service';

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
    expect(Reflect.getMetadata(PATH_METADATA, show)).toBe(':code');
    expect(Reflect.getMetadata(METHOD_METADATA, show)).toBeDefined();
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
