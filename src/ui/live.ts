import type { ServerResponse } from 'node:http';
import type { ConsoleBackend, LiveFrame } from './backend.js';

export const MJPEG_BOUNDARY = 'doorbellframe';

/** One part of a multipart/x-mixed-replace stream; `Content-Length` lets clients cut frames without scanning. */
export function mjpegPart(frame: LiveFrame): Buffer {
  const head =
    `--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.jpeg.length}\r\n` +
    `X-Frame-At: ${frame.at}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), frame.jpeg, Buffer.from('\r\n', 'latin1')]);
}

/**
 * Fans live frames out as MJPEG. Subscribes to the backend only while someone watches, and drops
 * frames for a client whose socket is still busy rather than queueing them (a slow phone sees a lower
 * frame rate, never a growing delay).
 */
export class LiveHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly frameWaiters = new Set<(frame: LiveFrame | undefined) => void>();
  private unsubscribe: (() => void) | undefined;
  private latest: LiveFrame | undefined;
  framesSent = 0;
  framesDropped = 0;

  constructor(
    private readonly backend: ConsoleBackend,
    private readonly maxClients: number,
  ) {}

  get full(): boolean {
    return this.clients.size >= this.maxClients;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  add(res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    res.socket?.setNoDelay(true);
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      this.release();
    });
    if (this.latest) this.send(res, this.latest);
    this.acquire();
  }

  /** The newest frame, waiting up to `timeoutMs` for one if nobody is watching. */
  async nextFrame(timeoutMs: number): Promise<LiveFrame | undefined> {
    if (this.latest && this.unsubscribe) return this.latest;
    return new Promise((resolve) => {
      const done = (frame: LiveFrame | undefined) => {
        clearTimeout(timer);
        this.frameWaiters.delete(done);
        this.release();
        resolve(frame);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.frameWaiters.add(done);
      this.acquire();
    });
  }

  closeAll(): void {
    for (const client of this.clients) client.end();
    this.clients.clear();
    for (const waiter of [...this.frameWaiters]) waiter(undefined);
    this.release();
  }

  private acquire(): void {
    this.unsubscribe ??= this.backend.onFrame((frame) => this.onFrame(frame));
  }

  private release(): void {
    if (this.clients.size > 0 || this.frameWaiters.size > 0 || !this.unsubscribe) return;
    this.unsubscribe();
    this.unsubscribe = undefined;
    this.latest = undefined;
  }

  private onFrame(frame: LiveFrame): void {
    this.latest = frame;
    for (const waiter of [...this.frameWaiters]) waiter(frame);
    for (const client of this.clients) this.send(client, frame);
  }

  private send(client: ServerResponse, frame: LiveFrame): void {
    if (client.writableNeedDrain) {
      this.framesDropped++;
      return;
    }
    this.framesSent++;
    client.write(mjpegPart(frame));
  }
}
