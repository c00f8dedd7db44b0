import { randomUUID } from 'node:crypto';
import { LockBackendUnavailableError, LockService } from '../../src';
import { RecordingLogger } from '../support/lock-test-kit';
import { freePorts, sleep, waitFor } from '../support/redis-server';
import { PartitionProxy, ZookeeperServerProcess } from '../support/zookeeper-server';

/**
 * Reconnects that the client library alone would never finish. A restarting ZooKeeper can accept
 * a connection and never answer its session handshake; node-zookeeper-client then waits forever
 * (it times out neither the handshake nor the socket before the session is established). The
 * backend bounds each attempt, as the Java client does.
 */
describe('zookeeper reconnect', () => {
  const SESSION_TIMEOUT_MS = 3000;
  let server: ZookeeperServerProcess;
  let proxy: PartitionProxy;
  const services: LockService[] = [];

  beforeAll(async () => {
    const [port] = await freePorts(1);
    server = new ZookeeperServerProcess(port);
    await server.start();
    proxy = new PartitionProxy(port);
    await proxy.start();
  });

  afterAll(async () => {
    await proxy.close();
    await server.destroy();
  });

  afterEach(async () => {
    proxy.heal();
    await Promise.all(services.splice(0).map((s) => s.close()));
  });

  it('a handshake the server never answers is abandoned and retried: the backend comes back', async () => {
    const service = new LockService({
      backend: 'zookeeper',
      zookeeper: { hosts: proxy.hosts, sessionTimeoutMs: SESSION_TIMEOUT_MS },
      // A first session on a busy machine can take more than the 500 ms default.
      connectWaitMs: 5000,
      keyPrefix: `reconnect:${randomUUID()}:`,
      logger: new RecordingLogger(),
    });
    services.push(service);
    await (await service.acquire('k')).release();

    // The connection drops and the reconnect's ConnectRequest is swallowed: the new socket is
    // open, and nothing ever answers on it unless the client gives up on it.
    proxy.blackHole();
    proxy.dropConnections();
    await waitFor('the client to reconnect into the black hole', () =>
      Promise.resolve(proxy.openConnections() > 0),
    );
    await sleep(200);
    proxy.heal();

    const refused = await service.acquire('k', { waitMs: 0 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockBackendUnavailableError);
    const startedAt = performance.now();
    await waitFor(
      'the backend to come back',
      async () => {
        const lock = await service.acquire('k', { waitMs: 0 }).catch(() => undefined);
        await lock?.release();
        return lock !== undefined;
      },
      4 * SESSION_TIMEOUT_MS,
      100,
    );
    // One stalled attempt is given up after sessionTimeout / servers; a second one may be needed
    // if the server expired the session meanwhile.
    expect(performance.now() - startedAt).toBeLessThan(4 * SESSION_TIMEOUT_MS);
    expect(service.state()).toMatchObject({ breaker: 'closed', activeLocks: 0, localSlots: 0 });
  });
});
