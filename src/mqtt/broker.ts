import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import type { Logger } from '../log/logger.js';
import { parseTopic } from './topics.js';

export interface EmbeddedBrokerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Topic prefix whose device ids are checked at the door. */
  prefix?: string;
  logger?: Logger;
  /** Extra aedes hooks (authentication, ACLs); the device-id check runs first. */
  hooks?: Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>;
}

/** The embedded MQTT 3.1.1 broker (aedes) that `doorbell start` runs by default. */
export class EmbeddedBroker {
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;

  constructor(private readonly options: EmbeddedBrokerOptions = {}) {}

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  get url(): string {
    return `mqtt://${this.host}:${this.boundPort}`;
  }

  get instance(): Aedes | undefined {
    return this.aedes;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const prefix = this.options.prefix ?? 'doorbell';
    const hooks = this.options.hooks ?? {};
    const aedes = await Aedes.createBroker({
      ...(hooks.authenticate ? { authenticate: hooks.authenticate } : {}),
      ...(hooks.authorizeSubscribe ? { authorizeSubscribe: hooks.authorizeSubscribe } : {}),
      authorizePublish: (client, packet, callback) => {
        if (packet.topic.startsWith('$SYS')) return callback(new Error('$SYS topics are reserved'));
        const parsed = parseTopic(prefix, packet.topic);
        if (parsed.kind === 'invalid-device') {
          return callback(
            new Error(`refused: invalid device id ${JSON.stringify(parsed.deviceId)} in ${packet.topic}`),
          );
        }
        if (hooks.authorizePublish) return hooks.authorizePublish(client, packet, callback);
        callback(null);
      },
    });
    aedes.on('clientError', (client, error) => {
      this.options.logger?.debug({ clientId: client?.id, err: error.message }, 'broker client error');
    });
    const server = createServer((socket) => {
      // Nagle's algorithm delays small MQTT packets by tens of ms on loopback.
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 1883, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: NodeJS.ErrnoException) => {
      aedes.close();
      if (error.code === 'EADDRINUSE') {
        throw new Error(
          `port ${this.options.port} on ${this.host} is in use (choose another with --port, or 0 for any)`,
        );
      }
      throw error;
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : 0;
    this.aedes = aedes;
    this.server = server;
  }

  async stop(): Promise<void> {
    const { server, aedes } = this;
    if (!server || !aedes) return;
    this.server = undefined;
    this.aedes = undefined;
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
