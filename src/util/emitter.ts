/**
 * One typed channel of listeners. A listener that throws is reported to `onListenerError` and skipped: it never
 * breaks the emitter or the listeners after it. Listeners run synchronously, in the order they were added.
 */
export class Emitter<Args extends unknown[]> {
  private readonly listeners = new Set<(...args: Args) => void>();

  constructor(private readonly onListenerError: (error: unknown, ...args: Args) => void) {}

  /** Adds a listener; the returned function removes it (again is harmless). */
  on(listener: (...args: Args) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(...args: Args): void {
    for (const listener of this.listeners) {
      try {
        listener(...args);
      } catch (error) {
        this.onListenerError(error, ...args);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
