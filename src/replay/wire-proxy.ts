import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A PUBLISH as the device put it on the wire. */
export interface WirePublish {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
}

const PUBLISH = 3;
const CONNECT = 1;

/**
 * Cuts an MQTT byte stream (client → broker) into packets and hands over every PUBLISH. MQTT 3.1.1 and 5
 * (the protocol level is read from CONNECT). Only framing and PUBLISH are parsed; everything else is skipped.
 */
export class PublishSniffer {
  private buffer: Buffer = Buffer.alloc(0);
  private protocolLevel = 4;

  constructor(private readonly onPublish: (publish: WirePublish) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const header = readFixedHeader(this.buffer);
      if (!header) return;
      const end = header.offset + header.length;
      if (this.buffer.length < end) return;
      const first = this.buffer[0]!;
      const body = this.buffer.subarray(header.offset, end);
      this.buffer = this.buffer.subarray(end);
      const type = first >> 4;
      if (type === CONNECT) this.protocolLevel = readConnectLevel(body) ?? this.protocolLevel;
      else if (type === PUBLISH) this.onPublish(parsePublish(first & 0x0f, body, this.protocolLevel));
    }
  }
}

/** The fixed header's remaining length: where the body starts and how long it is (undefined: not all here yet). */
function readFixedHeader(buffer: Buffer): { offset: number; length: number } | undefined {
  const varint = readVarint(buffer, 1);
  return varint && { offset: varint.next, length: varint.value };
}

function readConnectLevel(body: Buffer): number | undefined {
  if (body.length < 2) return undefined;
  const nameLength = body.readUInt16BE(0);
  return body[2 + nameLength];
}

/** An MQTT variable byte integer (1-4 bytes) at `offset`; undefined when the buffer ends first. */
function readVarint(buffer: Buffer, offset: number): { value: number; next: number } | undefined {
  let value = 0;
  let multiplier = 1;
  for (let i = offset; i < offset + 4; i++) {
    if (i >= buffer.length) return undefined;
    const byte = buffer[i]!;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
    multiplier *= 128;
  }
  throw new Error('malformed MQTT variable byte integer');
}

export function parsePublish(flags: number, body: Buffer, protocolLevel = 4): WirePublish {
  const qos = (flags >> 1) & 3;
  const topicLength = body.readUInt16BE(0);
  const topic = body.subarray(2, 2 + topicLength).toString('utf8');
  let offset = 2 + topicLength;
  if (qos > 0) offset += 2;
  if (protocolLevel === 5) {
    const properties = readVarint(body, offset);
    if (!properties) throw new Error('malformed MQTT 5 PUBLISH: properties run past the packet');
    offset = properties.next + properties.value;
  }
  return {
    topic,
    payload: Buffer.from(body.subarray(offset)),
    qos,
    retain: (flags & 1) === 1,
    dup: (flags & 8) === 8,
  };
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
export class WireProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private plugged = true;
  private boundPort = 0;

  constructor(private readonly options: WireProxyOptions) {}

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

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
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
    const upstream = createConnection({ host: this.options.upstreamHost, port: this.options.upstreamPort });
    upstream.setNoDelay(true);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const sniffer = new PublishSniffer(this.options.onPublish);
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      try {
        sniffer.push(chunk);
      } catch {
        close();
        return;
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
