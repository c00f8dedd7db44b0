/**
 * Throwaway ZooKeeper servers for fault tests (never the shared one on 2181), started from the
 * Debian package's jars with a config of their own, and a TCP proxy that can black-hole a
 * client's connection (a partition) without the server noticing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './redis-server';

/** Debian's zookeeper package: the server jar (its manifest lists the other jars). */
const ZK_CLASSPATH =
  process.env.ZK_CLASSPATH ?? '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar';

/** The shared ZooKeeper (scripts/services.sh makes it answer). */
export const SHARED_ZOOKEEPER_HOSTS = process.env.TEST_ZOOKEEPER_HOSTS ?? '127.0.0.1:2181';

/** True when a ZooKeeper answers the four-letter word `srvr` on the port. */
export function zookeeperAnswers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = connect(port, host, () => socket.write('srvr'));
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(reply.includes('Zookeeper version')));
  });
}

/** A ZooKeeper child process on a fixed port; SIGKILL and start again keep its data. */
export class ZookeeperServerProcess {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'lock-zookeeper-'));

  /** `tickTime` 500 ms lets sessions be as short as 1 s (the server allows 2..20 ticks). */
  constructor(
    readonly port: number,
    private readonly tickTimeMs = 500,
  ) {}

  get hosts(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'zoo.cfg');
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    writeFileSync(
      conf,
      [
        `tickTime=${this.tickTimeMs}`,
        `dataDir=${join(this.dir, 'data')}`,
        `clientPort=${this.port}`,
        'clientPortAddress=127.0.0.1',
        'maxClientCnxns=0',
        'admin.enableServer=false',
        '4lw.commands.whitelist=*',
        // A test server: no fsync per transaction (the shared one keeps the safe default).
        'forceSync=no',
        '',
      ].join('\n'),
    );
    // java itself (not zkServer.sh, which reads Debian's environment file and logs into the shared
    // server's log): SIGKILL then hits the server. A small heap: it holds a few hundred znodes.
    this.child = spawn(
      'java',
      [
        `-Dzookeeper.log.dir=${this.dir}`,
        '-Xmx128m',
        '-XX:+UseSerialGC',
        '-cp',
        ZK_CLASSPATH,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        conf,
      ],
      { stdio: 'ignore' },
    );
    await waitFor(`zookeeper on ${this.port}`, () => zookeeperAnswers(this.port), 30_000, 100);
  }

  /** SIGKILL: the server vanishes like a crashed node (sockets reset). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A TCP proxy in front of a server. `blackHole()` keeps every socket open but forwards nothing
 * either way, like a network partition: neither side sees a close, the server's session timer
 * runs, and the client only notices through its own timeouts. `heal()` forwards again.
 */
export class PartitionProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private cut = false;
  port = 0;

  constructor(private readonly target: number) {}

  get hosts(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const forward = (from: Socket, to: Socket): void => {
        from.on('data', (chunk: Buffer) => {
          if (!this.cut) to.write(chunk);
        });
        from.on('close', () => {
          this.pairs.delete(pair);
          to.destroy();
        });
        from.on('error', () => undefined);
      };
      forward(client, upstream);
      forward(upstream, client);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address && typeof address === 'object') this.port = address.port;
  }

  blackHole(): void {
    this.cut = true;
  }

  heal(): void {
    this.cut = false;
  }

  openConnections(): number {
    return this.pairs.size;
  }

  /** Resets every open connection (both sides see a close); the proxy keeps listening. */
  dropConnections(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
