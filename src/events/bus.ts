import type { DeviceEvent } from './schemas.js';

export type DeviceEventListener = (event: DeviceEvent) => void;

/** One typed event bus. A listener that throws is reported, never breaks the emitter or other listeners. */
export class EventBus {
  private readonly listeners = new Set<DeviceEventListener>();

  constructor(private readonly onListenerError: (error: unknown, event: DeviceEvent) => void = () => {}) {}

  subscribe(listener: DeviceEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: DeviceEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }
}
