import type { Logger } from '../log/logger.js';
import type { UploadedClip, UploadQueueEvents } from './upload-types.js';

type Listeners = { [E in keyof UploadQueueEvents]: Set<UploadQueueEvents[E]> };

/** The queue's listeners: a listener that throws is logged and never stops the queue. */
export class UploadEvents {
  private readonly listeners: Listeners = {
    spooled: new Set(),
    uploaded: new Set(),
    retry: new Set(),
    failed: new Set(),
    discarded: new Set(),
    health: new Set(),
  };

  constructor(private readonly log: Logger) {}

  on<E extends keyof UploadQueueEvents>(event: E, listener: UploadQueueEvents[E]): () => void {
    (this.listeners[event] as Set<UploadQueueEvents[E]>).add(listener);
    return () => {
      (this.listeners[event] as Set<UploadQueueEvents[E]>).delete(listener);
    };
  }

  emit<E extends Exclude<keyof UploadQueueEvents, 'uploaded'>>(
    event: E,
    payload: Parameters<UploadQueueEvents[E]>[0],
  ): void {
    for (const listener of this.listeners[event]) {
      try {
        (listener as (value: typeof payload) => void)(payload);
      } catch (error) {
        this.log.error({ err: error, event }, 'an upload queue listener threw');
      }
    }
  }

  /** Awaits every `uploaded` listener; rejects (the clip stays spooled, to try again) if any of them failed. */
  async emitUploaded(clip: UploadedClip): Promise<void> {
    const failures: string[] = [];
    for (const listener of this.listeners.uploaded) {
      try {
        await listener(clip);
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
    if (failures.length > 0) throw new Error(`an uploaded listener failed: ${failures.join('; ')}`);
  }
}
