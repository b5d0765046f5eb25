import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A loopback TCP proxy that can be unplugged: a network outage between one client and its broker. */
export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private plugged = true;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(port = 0): Promise<void> {
    const server = createServer((client) => {
      if (!this.plugged) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ port: this.targetPort, host: '127.0.0.1' });
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const close = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.server = server;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Drops every connection and refuses new ones until plug(). */
  unplug(): void {
    this.plugged = false;
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  plug(): void {
    this.plugged = true;
  }

  async stop(): Promise<void> {
    this.unplug();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
