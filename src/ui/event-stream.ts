import type { ServerResponse } from 'node:http';
import type { DeviceEvent } from '../events/schemas.js';

export interface EventStreamOptions {
  maxClients: number;
  /** Timeline entries replayed to a client when it connects. */
  recentLimit: number;
  /** A client whose unsent backlog passes this is too slow and is dropped. */
  maxBacklogBytes: number;
  heartbeatMs: number;
}

/**
 * Server-sent events fan-out: each client gets a `hello` (state + recent timeline), then every
 * DeviceEvent as a default `message`. Bounded in clients and per-client backlog.
 */
export class EventStreamHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly recent: DeviceEvent[] = [];
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: EventStreamOptions) {}

  get clientCount(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= this.options.maxClients;
  }

  /** Takes over a response; the caller has checked `full`. */
  add(res: ServerResponse, hello: unknown): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    res.write(`retry: 2000\n\n`);
    this.write(res, 'hello', { ...(hello as object), recent: this.recent });
    this.heartbeat ??= setInterval(() => this.ping(), this.options.heartbeatMs).unref();
  }

  publish(event: DeviceEvent): void {
    if (event.kind !== 'state' && !(event.kind === 'motion' && event.payload.type === 'update')) {
      this.recent.push(event);
      if (this.recent.length > this.options.recentLimit) this.recent.shift();
    }
    for (const client of this.clients) this.write(client, undefined, event);
  }

  closeAll(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private ping(): void {
    if (this.clients.size === 0) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
      return;
    }
    for (const client of this.clients) client.write(': ping\n\n');
  }

  private write(client: ServerResponse, name: string | undefined, data: unknown): void {
    if (client.writableLength > this.options.maxBacklogBytes) {
      this.clients.delete(client);
      client.destroy();
      return;
    }
    const head = name ? `event: ${name}\n` : '';
    client.write(`${head}data: ${JSON.stringify(data)}\n\n`);
  }
}
