import { createClient } from 'node-zookeeper-client';
import { repairFraming } from './zookeeper.backend';

interface Manager {
  pendingBuffer: Buffer | null;
  socket?: { destroy(): void };
  onSocketClosed(hasError: boolean): void;
  onSocketData(buffer: Buffer): void;
}

/** A client that never connects: only its ConnectionManager's framing is exercised. */
function managerOf(): { client: ReturnType<typeof createClient>; manager: Manager } {
  const client = createClient('127.0.0.1:1', { retries: 0 });
  const manager = (client as unknown as { connectionManager: Manager }).connectionManager;
  return { client, manager };
}

describe('repairFraming (node-zookeeper-client 1.1.3)', () => {
  it('drops the half packet a closing socket leaves, before the library handles the close', () => {
    const { client, manager } = managerOf();
    const seen: Array<Buffer | null> = [];
    manager.onSocketClosed = function (this: Manager) {
      seen.push(this.pendingBuffer);
    };
    repairFraming(client, () => undefined);
    manager.pendingBuffer = Buffer.from([0, 0, 0, 9, 1, 2]);
    manager.onSocketClosed(false);
    expect(manager.pendingBuffer).toBeNull();
    expect(seen).toEqual([null]);
  });

  it('turns an answer it cannot parse into a dropped connection, not an uncaught exception', () => {
    const { client, manager } = managerOf();
    manager.onSocketData = () => {
      // What the library throws on a misread reply header.
      throw new Error('Unknown code: 600702983');
    };
    const destroyed: string[] = [];
    const reported: unknown[] = [];
    repairFraming(client, (err) => reported.push(err));
    manager.socket = { destroy: () => destroyed.push('socket') };
    manager.pendingBuffer = Buffer.from([1]);
    expect(() => manager.onSocketData(Buffer.from([2]))).not.toThrow();
    expect(destroyed).toEqual(['socket']);
    expect(manager.pendingBuffer).toBeNull();
    expect(reported).toEqual([new Error('Unknown code: 600702983')]);
  });
});
