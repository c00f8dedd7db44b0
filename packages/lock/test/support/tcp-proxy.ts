import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay on a local port in front of a real server (PostgreSQL), so a test can cut the
 * lock's connections and refuse new ones without touching the shared server: `stop()` closes
 * the port and resets every relayed connection, `start()` opens the same port again, and
 * `blackHole` keeps every connection open while dropping all traffic (a hung server).
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** While true, connections stay open but nothing gets through in either direction. */
  blackHole = false;

  constructor(
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
        // A black hole swallows what is sent, as a hung server or a dropped route does.
        a.on('data', (chunk: Buffer) => {
          if (!this.blackHole) b.write(chunk);
        });
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** Closes the port and resets every relayed connection (as a crashed server would). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
    await closed;
  }
}
