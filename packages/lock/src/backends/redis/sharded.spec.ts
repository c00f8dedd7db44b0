import type { Cluster } from 'ioredis';
import { clusterSlot, KeyNames } from './key-names';
import { ShardedBackend } from './sharded';
import { WakeHub } from './wake-hub';

describe('ShardedBackend key grouping', () => {
  const names = new KeyNames('couponlock:');
  const fakeClient = {} as Cluster;
  const config = {
    processId: 'p',
    fenceClock: true,
    connectWaitMs: 100,
    waitFlagMs: 1000,
    yieldReserveMs: 100,
  };
  const hub = new WakeHub([], 1000, 100, () => undefined);

  it('single mode runs every key in one script call', () => {
    const backend = new ShardedBackend('single', fakeClient, hub, names, config, []);
    expect(backend.groups(['coupon:X', 'sku:A', 'sku:B'])).toEqual([
      ['coupon:X', 'sku:A', 'sku:B'],
    ]);
  });

  it('cluster mode groups keys by the slot of their hash tag', () => {
    const backend = new ShardedBackend('cluster', fakeClient, hub, names, config, []);
    const keys = ['coupon:X', 'sku:A', 'sku:B', 'sku:C', 'sku:D'];
    const groups = backend.groups(keys);
    expect(groups.flat().sort()).toEqual(keys);
    for (const group of groups) {
      const slots = new Set(group.map((k) => clusterSlot(names.lock(k))));
      expect(slots.size).toBe(1);
      // The fence of each key lives in the same slot as its lock.
      for (const k of group) expect(clusterSlot(names.fence(k))).toBe([...slots][0]);
    }
    const distinct = new Set(keys.map((k) => clusterSlot(names.lock(k))));
    expect(groups).toHaveLength(distinct.size);
  });

  it('keys that hash to the same slot share one call', () => {
    const backend = new ShardedBackend('cluster', fakeClient, hub, names, config, []);
    // Find two different keys in one slot.
    const bySlot = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const key = `k:${i}`;
      const slot = clusterSlot(names.lock(key));
      const other = bySlot.get(slot);
      if (other) pair = [other, key];
      else bySlot.set(slot, key);
    }
    expect(backend.groups(pair)).toEqual([pair]);
  });
});
