/**
 * bench:lock module for LOCK_BACKEND=zookeeper (issue 9 §5), on the ZooKeeper that
 * scripts/services.sh makes answer (BENCH_ZOOKEEPER_HOSTS, default 127.0.0.1:2181).
 *
 * Floor: one create + one delete of an ephemeral znode on the same client, i.e. two writes
 * through the ZooKeeper leader, each logged before it answers. No lock recipe can cost less than
 * the node it takes and gives back; ours adds its queue read only when contended (an uncontended
 * acquire is one `multi` whose answer already shows the node is alone).
 * Round trips: the server's "Received" packet count (four-letter word `srvr`), which includes
 * the clients' pings (one per session timeout / 3): read it over a quiet interval.
 */
import { connect } from 'node:net';
import { createClient, CreateMode, Exception, type Client } from 'node-zookeeper-client';
import type { BenchBackend, PeerContender } from '../bench-backend';

const HOSTS = process.env.BENCH_ZOOKEEPER_HOSTS ?? '127.0.0.1:2181';
const FLOOR_ROOT = '/bench-floor';

function call<T>(send: (done: (err: unknown, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    send((err, value) =>
      err ? reject(err instanceof Error ? err : new Error('zk')) : resolve(value),
    ),
  );
}

async function connected(hosts: string): Promise<Client> {
  const client = createClient(hosts, { sessionTimeout: 10_000, spinDelay: 250, retries: 0 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no zookeeper at ${hosts}`)), 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  return client;
}

async function ensure(client: Client, path: string): Promise<void> {
  try {
    await call<string>((done) => client.create(path, CreateMode.PERSISTENT, done));
  } catch (err) {
    if (!(err instanceof Exception && err.getCode() === Exception.NODE_EXISTS)) throw err;
  }
}

/** A create + delete of an ephemeral znode per cycle, on one client. */
const znodeFloor: PeerContender = {
  name: 'znode create+delete',
  kind: 'floor',
  async open(keyPrefix) {
    const client = await connected(HOSTS);
    const parent = `${FLOOR_ROOT}/${encodeURIComponent(keyPrefix)}`;
    await ensure(client, FLOOR_ROOT);
    await ensure(client, parent);
    return {
      async cycle(key) {
        const path = `${parent}/${encodeURIComponent(key)}`;
        await call<string>((done) => client.create(path, CreateMode.EPHEMERAL, done));
        await call<void>((done) => client.remove(path, -1, done));
      },
      async close() {
        await call<void>((done) => client.remove(parent, -1, done)).catch(() => undefined);
        client.close();
      },
    };
  },
};

/** Packets the server has received since it started (srvr's "Received:" line). */
function receivedPackets(hosts: string): Promise<number> {
  const [host, port] = hosts.split(',')[0].split('/')[0].split(':');
  return new Promise((resolve, reject) => {
    let reply = '';
    const socket = connect(Number(port), host, () => socket.write('srvr'));
    socket.setTimeout(3000, () => socket.destroy(new Error('srvr timed out')));
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const match = /^Received: (\d+)$/m.exec(reply);
      if (match) resolve(Number(match[1]));
      else reject(new Error(`no "Received:" in srvr answer (is srvr whitelisted?): ${reply}`));
    });
  });
}

const zookeeper: BenchBackend = {
  name: 'zookeeper',
  options: (keyPrefix) => ({
    backend: 'zookeeper',
    zookeeper: { hosts: HOSTS },
    keyPrefix,
  }),
  peers: [znodeFloor],
  roundTrips: () => receivedPackets(HOSTS),
};

export default zookeeper;
