import type { Logger } from '../log/logger.js';
import { Emitter } from '../util/emitter.js';
import type { UploadedClip, UploadQueueEvents } from './upload-types.js';

type NoticeEvent = Exclude<keyof UploadQueueEvents, 'uploaded'>;
type Notices = { [E in NoticeEvent]: Emitter<Parameters<UploadQueueEvents[E]>> };

/** The queue's listeners: a listener that throws is logged and never stops the queue. */
export class UploadEvents {
  private readonly notices: Notices;
  /** Awaited, unlike the notices: the spool entry goes only once every one of them settled. */
  private readonly uploaded = new Set<UploadQueueEvents['uploaded']>();

  constructor(log: Logger) {
    const logged =
      (event: NoticeEvent) =>
      (error: unknown, ..._payload: unknown[]) =>
        log.error({ err: error, event }, 'an upload queue listener threw');
    this.notices = {
      spooled: new Emitter<Parameters<UploadQueueEvents['spooled']>>(logged('spooled')),
      retry: new Emitter<Parameters<UploadQueueEvents['retry']>>(logged('retry')),
      failed: new Emitter<Parameters<UploadQueueEvents['failed']>>(logged('failed')),
      discarded: new Emitter<Parameters<UploadQueueEvents['discarded']>>(logged('discarded')),
      health: new Emitter<Parameters<UploadQueueEvents['health']>>(logged('health')),
    };
  }

  on<E extends keyof UploadQueueEvents>(event: E, listener: UploadQueueEvents[E]): () => void {
    if (event === 'uploaded') {
      const awaited = listener as UploadQueueEvents['uploaded'];
      this.uploaded.add(awaited);
      return () => {
        this.uploaded.delete(awaited);
      };
    }
    return (this.notices[event as NoticeEvent] as Emitter<unknown[]>).on(
      listener as (...args: unknown[]) => void,
    );
  }

  emit<E extends NoticeEvent>(event: E, payload: Parameters<UploadQueueEvents[E]>[0]): void {
    (this.notices[event] as Emitter<unknown[]>).emit(payload);
  }

  /** Awaits every `uploaded` listener; rejects (the clip stays spooled, to try again) if any of them failed. */
  async emitUploaded(clip: UploadedClip): Promise<void> {
    const failures: string[] = [];
    for (const listener of this.uploaded) {
      try {
        await listener(clip);
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
    if (failures.length > 0) throw new Error(`an uploaded listener failed: ${failures.join('; ')}`);
  }
}
