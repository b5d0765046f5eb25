import * as mqttPacket from 'mqtt-packet';
import { TcpProxy } from './tcp-proxy.js';

/** A PUBLISH as the device put it on the wire. */
export interface WirePublish {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
}

/**
 * Cuts an MQTT byte stream (client → broker) into packets with mqtt-packet and hands over every PUBLISH. MQTT
 * 3.1.1 and 5 (the parser takes the protocol level from CONNECT); other packets are skipped. A stream it cannot
 * parse throws.
 */
export class PublishSniffer {
  private readonly parser = mqttPacket.parser();
  private failure: Error | undefined;

  constructor(onPublish: (publish: WirePublish) => void) {
    this.parser.on('packet', (packet) => {
      if (packet.cmd !== 'publish') return;
      onPublish({
        topic: packet.topic,
        payload: Buffer.from(packet.payload),
        qos: packet.qos,
        retain: packet.retain,
        dup: packet.dup,
      });
    });
    this.parser.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    this.parser.parse(chunk);
    if (this.failure) throw this.failure;
  }
}

export interface WireProxyOptions {
  upstreamHost: string;
  upstreamPort: number;
  /** Every PUBLISH a client sends, in the order it sent them. */
  onPublish: (publish: WirePublish) => void;
}

/**
 * A TCP proxy between a device and its broker that can be unplugged (a broker outage as the device sees it: the
 * connection drops and new ones are refused) and that reads the device's PUBLISH packets on the way through.
 */
export class WireProxy extends TcpProxy {
  constructor(options: WireProxyOptions) {
    super({
      upstreamHost: options.upstreamHost,
      upstreamPort: options.upstreamPort,
      readClient: () => {
        const sniffer = new PublishSniffer(options.onPublish);
        return (chunk) => sniffer.push(chunk);
      },
    });
  }
}
