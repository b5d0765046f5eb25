import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxyOptions {
  upstreamPort: number;
  upstreamHost?: string;
  /**
   * A reader per client connection that sees every chunk the client sends before it is forwarded; a reader that
   * throws drops its connection (bytes it cannot read are cut off rather than passed on half-understood).
   */
  readClient?: () => (chunk: Buffer) => void;
}

/**
 * A loopback TCP proxy between clients and one upstream that can be unplugged: the connection drops and new ones
 * are refused, a network or broker outage as the client sees it. Replay and the tests share it.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private plugged = true;
  private boundPort = 0;

  constructor(private readonly options: TcpProxyOptions) {}

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.boundPort}`;
  }

  get isPlugged(): boolean {
    return this.plugged;
  }

  /** Connections open through the proxy right now. */
  get connections(): number {
    return this.pairs.size;
  }

  async start(port = 0): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : 0;
  }

  /** Drops every connection and refuses new ones until replug(). */
  unplug(): void {
    this.plugged = false;
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
  }

  replug(): void {
    this.plugged = true;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.unplug();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.setNoDelay(true);
    if (!this.plugged) {
      client.destroy();
      return;
    }
    const upstream = createConnection({
      host: this.options.upstreamHost ?? '127.0.0.1',
      port: this.options.upstreamPort,
    });
    upstream.setNoDelay(true);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    const read = this.options.readClient?.();
    client.on('data', (chunk: Buffer) => {
      if (read) {
        try {
          read(chunk);
        } catch {
          close();
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }
}
