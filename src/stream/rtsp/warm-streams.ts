/**
 * The subscriptions a connection holds between DESCRIBE and PLAY: a DESCRIBE needs the stream's parameter sets,
 * which means starting its encoder, and keeping it running for the PLAY that usually follows a few milliseconds
 * later spares that viewer a cold start. Held for a short while at most, and let go on PLAY or when the connection
 * closes.
 */
import type { Logger } from '../../log/logger.js';
import type { LiveVideo, StreamInfo, Subscription } from '../live-video.js';

const MAX_PATHS = 4;

export class WarmStreams {
  private readonly held = new Map<string, { subscription: Subscription; timer: NodeJS.Timeout }>();
  private closed = false;

  constructor(
    /** How long a stream is held, and how long its start may take. */
    private readonly holdMs: number,
    private readonly logger: Logger,
  ) {}

  /** The stream's parameters, starting it if needed; undefined when it did not start in time. */
  async info(path: string, live: LiveVideo): Promise<StreamInfo | undefined> {
    const held = this.held.get(path);
    if (held) return held.subscription.info;
    if (this.held.size >= MAX_PATHS || this.closed) return undefined;
    const pending = live.subscribe(() => {});
    let giveUp: NodeJS.Timeout | undefined;
    const subscription = await Promise.race([
      pending,
      new Promise<undefined>((resolve) => {
        giveUp = setTimeout(() => resolve(undefined), this.holdMs);
      }),
    ]).catch((error: unknown) => {
      this.logger.warn({ err: (error as Error).message, path }, 'rtsp: the stream did not start');
      return undefined;
    });
    clearTimeout(giveUp);
    if (!subscription || this.closed || this.held.has(path)) {
      // Late or unwanted: let the encoder go as soon as it comes.
      void pending.then((late) => late.unsubscribe()).catch(() => {});
      return subscription?.info;
    }
    const timer = setTimeout(() => this.release(path), this.holdMs);
    timer.unref();
    this.held.set(path, { subscription, timer });
    return subscription.info;
  }

  release(path: string): void {
    const held = this.held.get(path);
    if (!held) return;
    clearTimeout(held.timer);
    held.subscription.unsubscribe();
    this.held.delete(path);
  }

  close(): void {
    this.closed = true;
    for (const path of [...this.held.keys()]) this.release(path);
  }
}
