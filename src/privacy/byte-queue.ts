/** A FIFO of buffers that hands out exact byte counts without concatenating everything it holds. */
export class ByteQueue {
  private readonly parts: Buffer[] = [];
  private head = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length > 0) {
      this.parts.push(chunk);
      this.total += chunk.length;
    }
  }

  /** Removes exactly `count` bytes (count ≤ length) and returns them as slices of the queued buffers. */
  take(count: number): Buffer[] {
    if (count > this.total) throw new RangeError(`take(${count}) with only ${this.total} bytes queued`);
    const out: Buffer[] = [];
    let needed = count;
    while (needed > 0) {
      const part = this.parts[this.head]!;
      if (part.length <= needed) {
        out.push(part);
        needed -= part.length;
        this.head++;
      } else {
        out.push(part.subarray(0, needed));
        this.parts[this.head] = part.subarray(needed);
        needed = 0;
      }
    }
    if (this.head > 64) {
      this.parts.splice(0, this.head);
      this.head = 0;
    }
    this.total -= count;
    return out;
  }

  takeAll(): Buffer[] {
    return this.take(this.total);
  }

  /** The next `count` bytes as one buffer, without removing them. */
  peek(count: number): Buffer {
    const slices: Buffer[] = [];
    let needed = Math.min(count, this.total);
    for (let i = this.head; needed > 0; i++) {
      const part = this.parts[i]!;
      const slice = part.subarray(0, Math.min(part.length, needed));
      slices.push(slice);
      needed -= slice.length;
    }
    return slices.length === 1 ? slices[0]! : Buffer.concat(slices);
  }
}
