/**
 * H.264 byte streams (ITU-T H.264 Annex B) as an encoder writes them to a pipe: NAL units separated by 00 00 01 or
 * 00 00 00 01 start codes, in chunks that cut anywhere. Pure: bytes in, NAL units out.
 */

export const NAL_TYPE = {
  nonIdrSlice: 1,
  idrSlice: 5,
  sei: 6,
  sps: 7,
  pps: 8,
  accessUnitDelimiter: 9,
} as const;

export function nalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

/**
 * Splits a byte stream fed in arbitrary chunks into NAL units. A unit is only complete when the next start code
 * arrives, so the last one comes out on flush().
 */
export class AnnexBSplitter {
  private pending: Buffer = Buffer.alloc(0);
  /** Where the current unit's payload starts in `pending`, or -1 before the first start code. */
  private unitStart = -1;
  /** Where to resume looking for a start code: everything before it was searched already. */
  private searchFrom = 0;

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const units: Buffer[] = [];
    for (
      let at = findStartCode(this.pending, this.searchFrom);
      at >= 0;
      at = findStartCode(this.pending, this.searchFrom)
    ) {
      if (this.unitStart >= 0) this.emit(this.pending.subarray(this.unitStart, at), units);
      this.unitStart = at + 3;
      this.searchFrom = this.unitStart;
    }
    // Keep the unfinished unit, or before the first start code only the last 2 bytes (they may begin one).
    const keepFrom = this.unitStart >= 0 ? this.unitStart : Math.max(0, this.pending.length - 2);
    this.pending = this.pending.subarray(keepFrom);
    if (this.unitStart >= 0) this.unitStart = 0;
    this.searchFrom = Math.max(0, this.pending.length - 2);
    return units;
  }

  /** The last unit, at the end of the stream. */
  flush(): Buffer[] {
    const units: Buffer[] = [];
    if (this.unitStart >= 0) this.emit(this.pending.subarray(this.unitStart), units);
    this.pending = Buffer.alloc(0);
    this.unitStart = -1;
    this.searchFrom = 0;
    return units;
  }

  /** A unit without the zero bytes that end it (trailing_zero_8bits, or the first byte of a 4-byte start code). */
  private emit(unit: Buffer, into: Buffer[]): void {
    let end = unit.length;
    while (end > 0 && unit[end - 1] === 0) end--;
    if (end > 0) into.push(Buffer.from(unit.subarray(0, end)));
  }
}

/** Index of the next 00 00 01 at or after `from`, or -1. */
function findStartCode(bytes: Buffer, from: number): number {
  for (let i = from; i + 2 < bytes.length; i++) {
    if (bytes[i + 2]! > 1) i += 2;
    else if (bytes[i + 2] === 1 && bytes[i] === 0 && bytes[i + 1] === 0) return i;
  }
  return -1;
}

/**
 * Groups NAL units into access units (one coded picture each): a new picture begins at an access unit delimiter,
 * SPS, PPS or SEI after a slice, or at a slice whose first_mb_in_slice is 0 (its first bit after the header is 1).
 */
export class AccessUnitAssembler {
  private current: Buffer[] = [];
  private sawSlice = false;

  push(nal: Buffer): Buffer[][] {
    const type = nalType(nal);
    const isSlice = type === NAL_TYPE.nonIdrSlice || type === NAL_TYPE.idrSlice;
    const startsPicture = isSlice
      ? ((nal[1] ?? 0) & 0x80) !== 0
      : type >= NAL_TYPE.sei && type <= NAL_TYPE.accessUnitDelimiter;
    const done: Buffer[][] = [];
    if (this.sawSlice && startsPicture) {
      done.push(this.current);
      this.current = [];
      this.sawSlice = false;
    }
    if (type !== NAL_TYPE.accessUnitDelimiter) this.current.push(nal);
    if (isSlice) this.sawSlice = true;
    return done;
  }

  flush(): Buffer[][] {
    const last = this.sawSlice ? [this.current] : [];
    this.current = [];
    this.sawSlice = false;
    return last;
  }
}

export function isKeyframe(nals: readonly Buffer[]): boolean {
  return nals.some((nal) => nalType(nal) === NAL_TYPE.idrSlice);
}
