import { Emitter } from '../util/emitter.js';
import type { DeviceEvent } from './schemas.js';

export type DeviceEventListener = (event: DeviceEvent) => void;

/** One typed event bus. A listener that throws is reported, never breaks the emitter or other listeners. */
export class EventBus {
  private readonly listeners: Emitter<[DeviceEvent]>;

  constructor(onListenerError: (error: unknown, event: DeviceEvent) => void = () => {}) {
    this.listeners = new Emitter(onListenerError);
  }

  subscribe(listener: DeviceEventListener): () => void {
    return this.listeners.on(listener);
  }

  emit(event: DeviceEvent): void {
    this.listeners.emit(event);
  }
}
