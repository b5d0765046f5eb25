import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { Aedes, type AedesOptions } from 'aedes';
import persistenceLevel from 'aedes-persistence-level';
import { ClassicLevel } from 'classic-level';
import type { Logger } from '../log/logger.js';
import { aedesAuthHooks, type BrokerAuth } from './auth.js';
import { type BrokerTlsOptions, exposureProblem } from './broker-security.js';
import { parseTopic } from './topics.js';

export interface EmbeddedBrokerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Topic prefix whose device ids are checked at the door. */
  prefix?: string;
  /** Home Assistant discovery prefix; devices may publish their own discovery topics under it. */
  discoveryPrefix?: string;
  logger?: Logger;
  /** Users, roles and ACL (see auth.ts); without it the broker is open to anyone on the listener. */
  auth?: BrokerAuth;
  /** A TLS listener besides the plain one. */
  tls?: BrokerTlsOptions;
  /** Listen off loopback without `auth` (--insecure-anonymous): anyone who reaches the port may do anything. */
  insecureAnonymous?: boolean;
  /** Set false to listen on TLS only (requires `tls`). */
  plain?: boolean;
  /**
   * Where sessions, queued QoS 1 messages and retained messages live. `disk` (a LevelDB under `dir`) survives a
   * restart and a kill -9; `memory` (the default here) is faster and forgets everything on exit.
   */
  persistence?: BrokerPersistence;
  /** Extra aedes hooks (authentication, ACLs); the device-id check runs first, then `auth`, then these. */
  hooks?: Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>;
}

interface StoredWaiter {
  target: number;
  resolve: () => void;
}

export type BrokerPersistence = { kind: 'memory' } | { kind: 'disk'; dir: string };

export const BROKER_PERSISTENCE_KINDS = ['disk', 'memory'] as const;
export type BrokerPersistenceKind = (typeof BROKER_PERSISTENCE_KINDS)[number];

/** The embedded MQTT 3.1.1 broker (aedes) that `doorbell start` runs by default. */
export class EmbeddedBroker {
  private aedes: Aedes | undefined;
  private store: ClassicLevel | undefined;
  /** Per watched client: publishes authorized, publishes through aedes' store-and-route chain, and who waits. */
  private readonly watched = new Map<string, { accepted: number; stored: number; waiters: StoredWaiter[] }>();
  private servers: Array<Server | TlsServer> = [];
  private readonly sockets = new Set<Socket | TLSSocket>();
  private boundPort = 0;
  private boundTlsPort = 0;

  constructor(private readonly options: EmbeddedBrokerOptions = {}) {}

  /** The plain listener's port (0 when listening on TLS only). */
  get port(): number {
    return this.boundPort;
  }

  get tlsPort(): number {
    return this.boundTlsPort;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  /** The plain listener's URL, or the TLS one when there is no plain listener. */
  get url(): string {
    if (this.options.plain === false) return this.tlsUrl;
    return `mqtt://${this.host}:${this.boundPort}`;
  }

  get tlsUrl(): string {
    return `mqtts://${this.host}:${this.boundTlsPort}`;
  }

  get instance(): Aedes | undefined {
    return this.aedes;
  }

  get auth(): BrokerAuth | undefined {
    return this.options.auth;
  }

  async start(): Promise<void> {
    if (this.aedes) return;
    const { options } = this;
    if (options.plain === false && !options.tls) throw new Error('plain: false needs a TLS listener (tls)');
    const exposure = exposureProblem(this.host, Boolean(options.auth), options.insecureAnonymous ?? false);
    if (exposure.refuse) throw new Error(exposure.message);
    if (exposure.message) options.logger?.warn({ host: this.host }, exposure.message);
    if (options.tls?.requireClientCert && !options.tls.ca) {
      throw new Error('requireClientCert needs the CA that signs client certificates (tls.ca)');
    }
    const aedes = await this.createAedes();
    aedes.on('publish', (_packet, client) => {
      if (client) this.countStored(client.id);
    });
    aedes.on('clientError', (client, error) => {
      options.logger?.debug({ clientId: client?.id, err: error.message }, 'broker client error');
    });
    aedes.on('connectionError', (client, error) => {
      options.logger?.debug({ clientId: client?.id, err: error.message }, 'broker connection error');
    });
    try {
      if (options.plain !== false) {
        const server = createServer((socket) => this.accept(aedes, socket));
        this.servers.push(server);
        this.boundPort = await this.listen(server, options.port ?? 1883, '--port');
      }
      if (options.tls) {
        const { tls } = options;
        const server = createTlsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca ? { ca: tls.ca } : {}),
            requestCert: Boolean(tls.ca),
            rejectUnauthorized: tls.requireClientCert ?? false,
            minVersion: 'TLSv1.2',
          },
          (socket) => this.accept(aedes, socket),
        );
        server.on('tlsClientError', (error) =>
          options.logger?.debug({ err: error.message }, 'TLS handshake failed'),
        );
        this.servers.push(server);
        this.boundTlsPort = await this.listen(server, tls.port ?? 8883, '--tls-port');
      }
    } catch (error) {
      await this.closeServers();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await this.closeStore();
      throw error;
    }
    this.aedes = aedes;
  }

  async stop(): Promise<void> {
    const { aedes } = this;
    if (!aedes) return;
    this.aedes = undefined;
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await this.closeServers();
    await this.closeStore();
  }

  /** Starts counting `clientId`'s publishes, so that `storedFrom` can tell when they are safe. */
  watchClient(clientId: string): void {
    if (!this.watched.has(clientId)) this.watched.set(clientId, { accepted: 0, stored: 0, waiters: [] });
  }

  /**
   * Resolves once every publish of a watched client authorized so far has been stored (retained, queued for offline
   * persistent sessions) and routed. aedes sends a QoS 1 PUBACK before it stores: a publisher in this process that
   * counted the PUBACK as delivery could lose the message to a kill -9 in between.
   */
  storedFrom(clientId: string): Promise<void> {
    const counts = this.watched.get(clientId);
    if (!counts || counts.stored >= counts.accepted) return Promise.resolve();
    return new Promise((resolve) => counts.waiters.push({ target: counts.accepted, resolve }));
  }

  private countAccepted(clientId: string): void {
    const counts = this.watched.get(clientId);
    if (counts) counts.accepted += 1;
  }

  private countStored(clientId: string): void {
    const counts = this.watched.get(clientId);
    if (!counts) return;
    counts.stored += 1;
    const ready = counts.waiters.filter((waiter) => waiter.target <= counts.stored);
    if (ready.length === 0) return;
    counts.waiters = counts.waiters.filter((waiter) => waiter.target > counts.stored);
    for (const waiter of ready) waiter.resolve();
  }

  private async createAedes(): Promise<Aedes> {
    const persistence = this.options.persistence;
    if (persistence?.kind !== 'disk') return Aedes.createBroker(this.aedesOptions());
    const store = new ClassicLevel(persistence.dir);
    try {
      await store.open();
    } catch (error) {
      throw new Error(
        `cannot open the broker's session store ${persistence.dir}: ${describeOpenError(error)}`,
      );
    }
    this.store = store;
    try {
      return await Aedes.createBroker({ ...this.aedesOptions(), persistence: persistenceLevel(store) });
    } catch (error) {
      await this.closeStore();
      throw error;
    }
  }

  private async closeStore(): Promise<void> {
    const store = this.store;
    this.store = undefined;
    await store?.close();
  }

  private aedesOptions(): AedesOptions {
    const { options } = this;
    const prefix = options.prefix ?? 'doorbell';
    const extra = options.hooks ?? {};
    const auth = options.auth
      ? aedesAuthHooks(
          options.auth,
          { prefix, discoveryPrefix: options.discoveryPrefix ?? 'homeassistant' },
          options.logger,
        )
      : undefined;
    const authenticate = chainAuthenticate(auth?.authenticate, extra.authenticate);
    const authorizeSubscribe = chainSubscribe(auth?.authorizeSubscribe, extra.authorizeSubscribe);
    return {
      ...(authenticate ? { authenticate } : {}),
      ...(authorizeSubscribe ? { authorizeSubscribe } : {}),
      ...(auth ? { authorizeForward: auth.authorizeForward } : {}),
      authorizePublish: (client, packet, authorized) => {
        const callback = (error?: Error | null) => {
          if (!error && client) this.countAccepted(client.id);
          authorized(error);
        };
        if (packet.topic.startsWith('$SYS')) return callback(new Error('$SYS topics are reserved'));
        const parsed = parseTopic(prefix, packet.topic);
        // A retained request would run again on every device reconnect, long after whoever sent it.
        if (packet.retain && (parsed.kind === 'request' || parsed.kind === 'requester-request')) {
          return callback(new Error(`refused: requests are never retained (${packet.topic})`));
        }
        if (parsed.kind === 'invalid-device') {
          return callback(
            new Error(`refused: invalid device id ${JSON.stringify(parsed.deviceId)} in ${packet.topic}`),
          );
        }
        const next = () =>
          extra.authorizePublish ? extra.authorizePublish(client, packet, callback) : callback(null);
        if (!auth) return next();
        auth.authorizePublish(client, packet, (error) => (error ? callback(error) : next()));
      },
    };
  }

  private accept(aedes: Aedes, socket: Socket | TLSSocket): void {
    // Nagle's algorithm delays small MQTT packets by tens of ms on loopback.
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    aedes.handle(socket);
  }

  private async listen(server: Server | TlsServer, port: number, flag: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        throw new Error(`port ${port} on ${this.host} is in use (choose another with ${flag}, or 0 for any)`);
      }
      throw error;
    });
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  private async closeServers(): Promise<void> {
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            if (!server.listening) return resolve();
            server.close(() => resolve());
          }),
      ),
    );
  }
}

function describeOpenError(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  const message = error instanceof Error ? error.message : String(error);
  // LevelDB holds an exclusive lock: a second agent on the same data dir and device id is the usual cause.
  if (/lock/i.test(cause ?? message)) return `it is in use by another process (${cause ?? message})`;
  return cause ?? message;
}

type Authenticate = NonNullable<AedesOptions['authenticate']>;
type AuthorizeSubscribe = NonNullable<AedesOptions['authorizeSubscribe']>;

function chainAuthenticate(first?: Authenticate, second?: Authenticate): Authenticate | undefined {
  if (!first || !second) return first ?? second;
  return (client, username, password, done) =>
    first(client, username, password, (error, ok) =>
      error || !ok ? done(error, ok) : second(client, username, password, done),
    );
}

function chainSubscribe(
  first?: AuthorizeSubscribe,
  second?: AuthorizeSubscribe,
): AuthorizeSubscribe | undefined {
  if (!first || !second) return first ?? second;
  return (client, subscription, callback) =>
    first(client, subscription, (error, allowed) =>
      error || !allowed ? callback(error, allowed) : second(client, allowed, callback),
    );
}
