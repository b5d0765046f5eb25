import type { EventEmitter } from 'node:events';
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

const RUN_KEY = 'virtual-doorbell:broker-run';

/**
 * The store keys a queued message by broker id and a counter that starts at 0 in every run, and reads a session's
 * queue back in key order. A random id per run (aedes' default) would replay a restart's queue out of order, a fixed
 * one would overwrite it; an id that grows with each run keeps both apart and in order.
 */
async function nextRunId(store: ClassicLevel): Promise<string> {
  const previous = Number((await store.get(RUN_KEY)) ?? 0);
  const run = (Number.isSafeInteger(previous) ? previous : 0) + 1;
  await store.put(RUN_KEY, String(run), { sync: true });
  return `doorbell-run-${String(run).padStart(12, '0')}`;
}

function storedKey(clientId: string, topic: string, payload: string | Buffer): string {
  return `${clientId}\u0000${topic}\u0000${payload.toString()}`;
}

export type BrokerPersistence = { kind: 'memory' } | { kind: 'disk'; dir: string };

export const BROKER_PERSISTENCE_KINDS = ['disk', 'memory'] as const;
export type BrokerPersistenceKind = (typeof BROKER_PERSISTENCE_KINDS)[number];

/** The embedded MQTT 3.1.1 broker (aedes) that `doorbell start` runs by default. */
export class EmbeddedBroker {
  private aedes: Aedes | undefined;
  private store: ClassicLevel | undefined;
  /** Set when disk persistence was asked for but its store could not be opened: the broker runs in memory. */
  persistenceProblem: string | undefined;
  /** Publishes an in-process publisher waits to see stored, by client, topic and payload. */
  private readonly expected = new Map<string, Array<() => void>>();
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
    // aedes emits 'publish' only after the message is retained and queued for offline sessions; never if that failed.
    aedes.on('publish', (packet, client) => {
      if (!client || this.expected.size === 0) return;
      const key = storedKey(client.id, packet.topic, packet.payload);
      const waiters = this.expected.get(key);
      if (!waiters) return;
      this.expected.delete(key);
      for (const resolve of waiters) resolve();
    });
    // aedes declares only its client errors, but emits 'error' when its persistence fails.
    (aedes as unknown as EventEmitter).on('error', (error: Error) => {
      options.logger?.error(
        { err: error.message },
        'the embedded broker failed to read or write its sessions',
      );
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

  /**
   * Resolves once the broker has stored (retained, queued for offline persistent sessions) and routed this publish.
   * Call it before publishing. aedes sends a QoS 1 PUBACK before it stores, so a publisher in this process that
   * counted the PUBACK as delivery could lose the message to a kill -9 in between; a store that fails never resolves
   * (the publisher sends the message again after its reconnect).
   */
  storedFrom(clientId: string, topic: string, payload: string | Buffer): Promise<void> {
    const key = storedKey(clientId, topic, payload);
    return new Promise((resolve) => {
      const waiters = this.expected.get(key);
      if (waiters) waiters.push(resolve);
      else this.expected.set(key, [resolve]);
    });
  }

  /** A retained message from the broker itself (no client). */
  async publishRetained(topic: string, payload: string): Promise<void> {
    const aedes = this.aedes;
    if (!aedes) throw new Error('the broker is not running');
    await new Promise<void>((resolve, reject) =>
      aedes.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: true, dup: false },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  }

  private async createAedes(): Promise<Aedes> {
    const persistence = this.options.persistence;
    if (persistence?.kind !== 'disk') return Aedes.createBroker(this.aedesOptions());
    const store = new ClassicLevel(persistence.dir);
    try {
      await store.open();
    } catch (error) {
      const why = describeOpenError(error);
      const message = `cannot open the broker's session store ${persistence.dir}: ${why}`;
      // Another agent on this data dir and device id is a mistake to stop on; a full or broken disk is not.
      if (why.startsWith(IN_USE)) throw new Error(message);
      this.persistenceProblem = `${message}; sessions are kept in memory until a restart`;
      this.options.logger?.error({ dir: persistence.dir }, this.persistenceProblem);
      return Aedes.createBroker(this.aedesOptions());
    }
    this.store = store;
    try {
      const id = await nextRunId(store);
      return await Aedes.createBroker({ ...this.aedesOptions(), id, persistence: persistenceLevel(store) });
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
      authorizePublish: (client, packet, callback) => {
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

const IN_USE = 'it is in use by another process';

function describeOpenError(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  const message = error instanceof Error ? error.message : String(error);
  // LevelDB holds an exclusive lock: a second agent on the same data dir and device id is the usual cause.
  if (/lock/i.test(cause ?? message)) return `${IN_USE} (${cause ?? message})`;
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
