/**
 * The WS-Discovery responder: a UDP socket on port 3702 that answers Probes (multicast or unicast) with a
 * ProbeMatch sent back to the prober, and says Hello when it starts and Bye when it stops. Bound to every interface
 * it joins the discovery multicast group; bound to one address it answers unicast probes only.
 */
import { randomUUID } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { isWildcardHost } from '../util/host.js';
import { addressFacing, ipv4InterfaceAddresses } from './addresses.js';
import {
  type AppSequence,
  byeXml,
  DISCOVERY_MULTICAST,
  type DiscoveryIdentity,
  helloXml,
  probeMatches,
  probeMatchXml,
  probeOf,
} from './discovery.js';
import { MAX_ENVELOPE_BYTES } from './soap.js';

export interface DiscoverySettings {
  host: string;
  /** 3702 by default; 0 picks a free port (tests). */
  port: number;
  /** Where Hello and Bye go (default the WS-Discovery multicast group). */
  announceTo?: { address: string; port: number } | undefined;
}

export interface DiscoveryResponderOptions {
  settings: DiscoverySettings;
  endpoint: string;
  scopes: readonly string[];
  /** The device service URL as a client at `localAddress` reaches it. */
  xaddrFor: (localAddress: string) => string;
  clock: Clock;
  logger: Logger;
}

export class DiscoveryResponder {
  private socket: Socket | undefined;
  private sequence: AppSequence = { instanceId: 0, messageNumber: 0 };

  constructor(private readonly options: DiscoveryResponderOptions) {}

  get port(): number | undefined {
    return this.socket?.address().port;
  }

  async start(): Promise<void> {
    if (this.socket) return;
    const { settings, logger } = this.options;
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('message', (datagram, remote) => this.onDatagram(datagram, remote));
    socket.on('error', (error) => logger.warn({ err: error.message }, 'WS-Discovery socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(settings.port, settings.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.socket = socket;
    if (isWildcardHost(settings.host)) this.joinGroup(socket);
    // Instance ids only grow across restarts (WS-Discovery uses them to order a device's messages).
    this.sequence = { instanceId: Math.floor(this.options.clock.now() / 1000), messageNumber: 0 };
    await this.announce((identity, id, sequence) => helloXml(identity, id, sequence));
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    await this.announce((identity, id, sequence) => byeXml(identity, id, sequence));
    this.socket = undefined;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** Joins the discovery group on every IPv4 interface: probes come in on whichever one the NVR shares. */
  private joinGroup(socket: Socket): void {
    const joined = ipv4InterfaceAddresses().filter((address) => {
      try {
        socket.addMembership(DISCOVERY_MULTICAST.address, address);
        return true;
      } catch (error) {
        this.options.logger.debug(
          { err: (error as Error).message, address },
          'cannot join the discovery group here',
        );
        return false;
      }
    });
    if (joined.length === 0)
      this.options.logger.warn('cannot join the WS-Discovery multicast group: unicast probes only');
  }

  private identity(localAddress: string): DiscoveryIdentity {
    const { endpoint, scopes, xaddrFor } = this.options;
    return { endpoint, scopes, xaddrs: xaddrFor(localAddress) };
  }

  private nextSequence(): AppSequence {
    this.sequence = { ...this.sequence, messageNumber: this.sequence.messageNumber + 1 };
    return this.sequence;
  }

  private async announce(
    message: (identity: DiscoveryIdentity, messageId: string, sequence: AppSequence) => string,
  ): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    const target = this.options.settings.announceTo ?? DISCOVERY_MULTICAST;
    const local = addressFacing(target.address, this.options.settings.host);
    const datagram = Buffer.from(
      message(this.identity(local), `urn:uuid:${randomUUID()}`, this.nextSequence()),
    );
    await new Promise<void>((resolve) =>
      socket.send(datagram, target.port, target.address, (error) => {
        // No multicast route (a sandbox, a loopback-only host) is no reason to fail: probes are still answered.
        if (error)
          this.options.logger.debug({ err: error.message }, 'a WS-Discovery announcement was not sent');
        resolve();
      }),
    );
  }

  private onDatagram(datagram: Buffer, remote: RemoteInfo): void {
    const socket = this.socket;
    if (!socket || datagram.length > MAX_ENVELOPE_BYTES) return;
    let probe: ReturnType<typeof probeOf>;
    try {
      probe = probeOf(datagram.toString('utf8'));
    } catch (error) {
      this.options.logger.debug(
        { err: (error as Error).message, from: remote.address },
        'not a WS-Discovery message',
      );
      return;
    }
    const identity = this.identity(addressFacing(remote.address, this.options.settings.host));
    if (!probe || !probeMatches(probe, identity)) return;
    const reply = Buffer.from(
      probeMatchXml(probe, identity, `urn:uuid:${randomUUID()}`, this.nextSequence()),
    );
    socket.send(reply, remote.port, remote.address, (error) => {
      if (error) this.options.logger.debug({ err: error.message }, 'a ProbeMatch was not sent');
    });
  }
}
