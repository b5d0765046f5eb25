/**
 * Where a session's packets go: `$`-framed on its RTSP connection, or as UDP datagrams to the client's ports. Both
 * report a backlog instead of queueing without bound.
 */
import type { Socket as TcpSocket } from 'node:net';
import { interleavedFrame } from './messages.js';
import type { MediaSink } from './session.js';
import { transportHeader } from './transport.js';
import type { UdpPair } from './udp.js';

export class InterleavedSink implements MediaSink {
  readonly kind = 'tcp';

  constructor(
    private readonly socket: TcpSocket,
    readonly channels: readonly [number, number],
    private readonly maxBacklogBytes: number,
  ) {}

  transport(ssrc: number): string {
    return transportHeader({ kind: 'tcp', channels: this.channels, ssrc });
  }

  backlogged(): boolean {
    return this.socket.writableLength > this.maxBacklogBytes;
  }

  sendRtp(packets: readonly Buffer[]): void {
    if (this.socket.destroyed) return;
    // One write per picture: fewer syscalls, and a picture is never split by an RTSP response.
    this.socket.write(Buffer.concat(packets.flatMap((packet) => interleavedFrame(this.channels[0], packet))));
  }

  sendRtcp(packet: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(interleavedFrame(this.channels[1], packet)));
  }

  close(): void {
    // The connection outlives its sessions; it closes on its own.
  }
}

/** Datagrams waiting in the socket's send queue beyond which a viewer counts as not keeping up. */
const MAX_QUEUED_DATAGRAMS = 2_000;

export class UdpSink implements MediaSink {
  readonly kind = 'udp';
  private closed = false;

  constructor(
    private readonly pair: UdpPair,
    private readonly clientAddress: string,
    readonly clientPorts: readonly [number, number],
  ) {
    const ignore = (): void => {};
    pair.rtp.on('error', ignore);
    pair.rtcp.on('error', ignore);
  }

  transport(ssrc: number): string {
    return transportHeader({
      kind: 'udp',
      clientPorts: this.clientPorts,
      serverPorts: this.pair.ports,
      ssrc,
    });
  }

  backlogged(): boolean {
    return !this.closed && this.pair.rtp.getSendQueueCount() > MAX_QUEUED_DATAGRAMS;
  }

  sendRtp(packets: readonly Buffer[]): void {
    if (this.closed) return;
    for (const packet of packets) this.pair.rtp.send(packet, this.clientPorts[0], this.clientAddress);
  }

  sendRtcp(packet: Buffer): void {
    if (!this.closed) this.pair.rtcp.send(packet, this.clientPorts[1], this.clientAddress);
  }

  /** Called for every datagram the client sends us (RTCP receiver reports, NAT openers): it is alive. */
  onHeard(listener: () => void): void {
    this.pair.rtp.on('message', listener);
    this.pair.rtcp.on('message', listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pair.close();
  }
}
