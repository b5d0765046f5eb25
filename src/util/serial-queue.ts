/**
 * Runs tasks one at a time, in the order they were given. A task that fails rejects its own promise and does
 * not stop the ones after it.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private unsettled = 0;

  /** Runs `task` once every task given before it has settled; settles as the task does. */
  run<T>(task: () => T | PromiseLike<T>): Promise<T> {
    const result = this.tail.then(task);
    this.unsettled++;
    const settled = () => {
      this.unsettled--;
    };
    this.tail = result.then(settled, settled);
    return result;
  }

  /** Tasks given and not yet settled (the one running included). */
  get size(): number {
    return this.unsettled;
  }

  /** Resolves once every task given so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
