import { rasterizePolygons } from '../geometry/polygon.js';
import { CellDiffKernel, NOISE_SCALE } from './cell-diff.js';
import {
  type DetectorParams,
  MAX_ZONES,
  type MotionSettings,
  OBJECT_CELLS_GRID,
  resolveDetectorParams,
} from './settings.js';

/** Normalized [0,1] bounding box of the changed area. */
export interface MotionBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type MotionEventType = 'start' | 'update' | 'end';

/**
 * - start: ptsMs is the first frame of the motion run that confirmed the event (emitted minMotionFrames later);
 * - update: ptsMs is the current frame; score/box/zones cover the motion since the previous event;
 * - end: ptsMs is the first still frame after the last motion (emitted eventGapMs later); score/box/zones cover
 *   the whole event.
 * score: changed share f of a zone against its trigger level t, as f / (f + t): 0.5 at the trigger level, → 1 for
 * far more; the best zone counts.
 */
export interface MotionEvent {
  type: MotionEventType;
  ptsMs: number;
  score: number;
  box: MotionBox;
  zones: string[];
}

/** What the detector needs of a frame: 8-bit luma, row-major. */
export interface LumaFrame {
  ptsMs: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** The last frame's analysis, overwritten on every push (for heat maps and benchmarks; copy what you keep). */
export interface FrameAnalysis {
  ptsMs: number;
  /** Some zone reached its trigger level. */
  motion: boolean;
  /**
   * Some zone reached a tenth of its trigger level: before an event counting changed cells in blobs of any size
   * (dates its start back), during one only objects (keeps it alive).
   */
  weakMotion: boolean;
  lightswitch: boolean;
  score: number;
  /** Grid the analysis runs on: the frame downscaled 2×2. */
  gridWidth: number;
  gridHeight: number;
  /** Per cell: |luma change| in 2×2-sum units (0..1020) where it reached the smaller of the lightswitch delta and
   * the threshold; 0 below that. */
  change: Uint16Array;
  /** Per cell: 1 when the cell counted as changed after despeckling. */
  changed: Uint8Array;
  /** Per cell: 0 outside every zone or inside a mask. */
  active: Uint8Array;
}

const NO_EVENTS: readonly MotionEvent[] = Object.freeze([]);
/** A zone needs at least this many changed cells, however large it is, so a few specks never trigger. */
const MIN_ZONE_CELLS = 3;
/**
 * Amplitude hysteresis: a zone with at least this share of the changed cells its trigger level needs is "weak" motion.
 * Weak motion never starts an event, but it back-dates a start to the first frame of the run (a person's first
 * sliver at the picture edge) and keeps an event going (their last sliver), so start and end land on the frames
 * where the picture really began and stopped changing.
 */
const WEAK_FRACTION = 0.1;
/** A start is dated back along a weak run by at most this much (a cat strolling must not date a visitor). */
const MAX_BACKDATE_MS = 1_000;
/**
 * Moving background (foliage, sensor noise, compression shimmer) raises its own cells' bar: a cell counts as changed
 * only when its change is at least this many times its learned noise (docs/motion.md has the measurements).
 */
const NOISE_FACTOR = 3;
/** A frame adds at most this multiple of the threshold to a cell's noise, so a passer-by barely raises it. */
const NOISE_CAP_THRESHOLDS = 2;
/** The learned noise is a running mean over about this long (a 2^-n step per frame at the measured frame rate). */
const NOISE_MEMORY_MS = 4_000;
/**
 * Steps of the running mean, as powers of 2: at least 1/2 however slow the frames (a lone frame after a gap does not
 * replace what was learned), at most 1/256 however fast (the fixed-point noise still moves by whole units).
 */
const MIN_NOISE_SHIFT = 1;
const MAX_NOISE_SHIFT = 8;
/** Kept cells need this many changed neighbours (of 8): removes specks, keeps one-cell-wide edges. */
const DESPECKLE_MIN_NEIGHBOURS = 2;

/**
 * Pure frame-difference motion detector: 2×2 downscale (blur), per-cell threshold against the previous frame,
 * despeckle, changed share per zone, lightswitch guard, hysteresis. Frame timing comes only from ptsMs.
 * All buffers are allocated in the constructor; push() allocates nothing unless it emits an event.
 */
export class MotionDetector {
  readonly gridWidth: number;
  readonly gridHeight: number;
  readonly params: DetectorParams;

  private readonly cells: number;
  private readonly zoneBits: Uint32Array;
  private readonly activeCells: number;
  private readonly zoneNames: string[];
  private readonly zoneThreshold: Int32Array;
  private readonly zoneMinCells: Int32Array;
  private readonly zoneWeakCells: Int32Array;
  private readonly zoneMinFraction: Float64Array;
  private readonly zoneArea: Int32Array;
  private readonly zoneCount: Int32Array;
  /** minX, minY, maxX, maxY per zone. */
  private readonly zoneBox: Int32Array;
  private readonly baseThreshold: number;
  private readonly lightswitchDelta: number;

  /**
   * The previous frame, downscaled (2×2 sums), updated in place: it ends events on time where a running average
   * leaves ghost trails (docs/measurements.md).
   */
  private readonly kernel: CellDiffKernel;
  private readonly change: Uint16Array;
  /** 1 where a cell belongs to some zone and to no mask. */
  private readonly analysed: Uint8Array;
  private cellsAboveThreshold = 0;
  /** Indices of the cells over the threshold this frame (the first cellsAboveThreshold entries). */
  private readonly aboveList: Int32Array;
  /** Changed map with a one-cell border, so despeckling needs no bounds checks. */
  private readonly padded: Uint8Array;
  /** Per padded cell: its blob this frame (valid for changed cells only). */
  private readonly blobOf: Int32Array;
  private readonly blobSizes: Int32Array;
  private readonly queue: Int32Array;
  private readonly neighbourOffsets: Int32Array;
  /** Per padded cell: its changed neighbours, counted while labelling blobs (valid for changed cells only). */
  private readonly neighbourCount: Uint8Array;
  private readonly zoneMinObjectCells: Int32Array;
  private readonly smallestObjectCells: number;
  private readonly largestObjectCells: number;
  /** Per zone: changed cells in blobs of any size, which may date a start back (not keep an event going). */
  private readonly zoneSliverCount: Int32Array;
  private readonly analysis: FrameAnalysis;

  private primed = false;
  /** Frames compared since the first: the noise is a plain mean of them until the running mean takes over. */
  private compared = 0;
  private lastPts = Number.NaN;
  private lastInterval = 0;
  /** The interval before lastInterval: with it, one jump in the timestamps does not pass for the frame rate. */
  private previousInterval = 0;

  private eventOpen = false;
  private strongRun = 0;
  private runStartPts = Number.NaN;
  private strongRunStartPts = Number.NaN;
  private quietSince = Number.NaN;
  private lastEmitPts = 0;
  private readonly runAcc = new Accumulator();
  private readonly sinceAcc = new Accumulator();
  private readonly eventAcc = new Accumulator();

  constructor(
    settings: MotionSettings,
    readonly frameSize: { width: number; height: number },
  ) {
    if (!(frameSize.width >= 2 && frameSize.height >= 2)) {
      throw new Error(
        `frames must be at least 2x2 pixels (one 2×2 cell), got ${frameSize.width}x${frameSize.height}`,
      );
    }
    this.params = resolveDetectorParams(settings);
    const gw = Math.floor(frameSize.width / 2);
    const gh = Math.floor(frameSize.height / 2);
    this.gridWidth = gw;
    this.gridHeight = gh;
    this.cells = gw * gh;

    const zones = this.params.zones.slice(0, MAX_ZONES);
    const masked = rasterizePolygons(gw, gh, this.params.masks);
    this.zoneBits = new Uint32Array(this.cells);
    this.zoneNames = zones.map((z) => z.name);
    this.zoneThreshold = new Int32Array(zones.length);
    this.zoneMinCells = new Int32Array(zones.length);
    this.zoneWeakCells = new Int32Array(zones.length);
    this.zoneMinFraction = new Float64Array(zones.length);
    this.zoneArea = new Int32Array(zones.length);
    this.zoneCount = new Int32Array(zones.length);
    this.zoneSliverCount = new Int32Array(zones.length);
    this.zoneMinObjectCells = Int32Array.from(zones, (zone) =>
      Math.max(1, Math.round((zone.minObjectCells * this.cells) / OBJECT_CELLS_GRID)),
    );
    this.smallestObjectCells = Math.min(...this.zoneMinObjectCells);
    this.largestObjectCells = Math.max(...this.zoneMinObjectCells);
    this.zoneBox = new Int32Array(zones.length * 4);
    zones.forEach((zone, z) => {
      const inside = zone.polygon
        ? rasterizePolygons(gw, gh, [zone.polygon])
        : new Uint8Array(this.cells).fill(1);
      let area = 0;
      for (let i = 0; i < this.cells; i++) {
        if (inside[i] && !masked[i]) {
          this.zoneBits[i]! |= 1 << z;
          area++;
        }
      }
      this.zoneArea[z] = area;
      this.zoneThreshold[z] = zone.pixelThreshold * 4;
      this.zoneMinFraction[z] = zone.minAreaFraction;
      this.zoneMinCells[z] = Math.max(MIN_ZONE_CELLS, Math.ceil(area * zone.minAreaFraction));
      this.zoneWeakCells[z] = Math.max(MIN_ZONE_CELLS, Math.round(this.zoneMinCells[z]! * WEAK_FRACTION));
    });
    let activeCells = 0;
    const active = new Uint8Array(this.cells);
    for (let i = 0; i < this.cells; i++) {
      if (this.zoneBits[i]) {
        active[i] = 1;
        activeCells++;
      }
    }
    this.activeCells = activeCells;
    this.analysed = active;
    const thresholds = Array.from(this.zoneThreshold);
    this.baseThreshold = thresholds.length > 0 ? Math.min(...thresholds) : 1020;
    // "Changed in the same direction" for the lightswitch guard: a third of the motion threshold, ≥ 4 levels.
    this.lightswitchDelta = Math.max(16, Math.round(this.baseThreshold / 3));

    this.kernel = new CellDiffKernel(frameSize.width, frameSize.height, gw, gh);
    this.aboveList = new Int32Array(this.cells);
    this.change = new Uint16Array(this.cells);
    this.padded = new Uint8Array((gw + 2) * (gh + 2));
    this.blobOf = new Int32Array(this.padded.length);
    this.neighbourCount = new Uint8Array(this.padded.length);
    this.blobSizes = new Int32Array(this.cells);
    this.queue = new Int32Array(this.cells);
    const stride = gw + 2;
    this.neighbourOffsets = Int32Array.from([
      -stride - 1,
      -stride,
      -stride + 1,
      -1,
      1,
      stride - 1,
      stride,
      stride + 1,
    ]);
    this.analysis = {
      ptsMs: 0,
      motion: false,
      weakMotion: false,
      lightswitch: false,
      score: 0,
      gridWidth: gw,
      gridHeight: gh,
      change: this.change,
      changed: new Uint8Array(this.cells),
      active,
    };
  }

  /** Analysis of the most recent frame (buffers are reused). */
  get last(): Readonly<FrameAnalysis> {
    return this.analysis;
  }

  get inEvent(): boolean {
    return this.eventOpen;
  }

  /** Feeds one frame; returns the events it caused (usually none). */
  push(frame: LumaFrame): readonly MotionEvent[] {
    const { width, height } = this.frameSize;
    if (frame.width !== width || frame.height !== height || frame.data.length < width * height) {
      throw new Error(
        `frame is ${frame.width}x${frame.height}, the detector was built for ${width}x${height}`,
      );
    }
    const pts = frame.ptsMs;
    if (!Number.isNaN(this.lastPts)) {
      this.previousInterval = this.lastInterval;
      this.lastInterval = pts - this.lastPts;
    }
    this.lastPts = pts;
    this.analysis.ptsMs = pts;

    if (!this.primed) {
      this.primed = true;
      this.kernel.prime(frame.data);
      this.analysis.motion = false;
      this.analysis.weakMotion = false;
      this.analysis.lightswitch = false;
      this.analysis.score = 0;
      this.analysis.changed.fill(0);
      return NO_EVENTS;
    }

    // The reference becomes this frame either way: after a lightswitch the new lighting is the baseline.
    const lightswitch = this.compare(frame.data);
    let motion = false;
    let weak = false;
    let score = 0;
    if (lightswitch || this.cellsAboveThreshold === 0) {
      this.analysis.changed.fill(0);
      this.zoneCount.fill(0);
      this.zoneSliverCount.fill(0);
    } else {
      this.despeckleAndCount();
      const zones = this.zoneCount.length;
      for (let z = 0; z < zones; z++) {
        const count = this.zoneCount[z]!;
        // Before an event, slivers of any size may date its start back (a visitor's first edge, the picture's border
        // cutting them); once it runs, only objects keep it going (foliage leaves slivers all the time).
        const weakCount = this.eventOpen ? count : this.zoneSliverCount[z]!;
        if (weakCount >= this.zoneWeakCells[z]!) weak = true;
        if (count < this.zoneMinCells[z]!) continue;
        motion = true;
        const fraction = count / this.zoneArea[z]!;
        const zoneScore = fraction / (fraction + this.zoneMinFraction[z]!);
        if (zoneScore > score) score = zoneScore;
      }
    }
    this.analysis.motion = motion;
    this.analysis.weakMotion = weak;
    this.analysis.lightswitch = lightswitch;
    this.analysis.score = score;
    return this.step(pts, motion, weak, score);
  }

  /** End of input: closes an open event at the first still frame (or just after the last frame). */
  finish(): readonly MotionEvent[] {
    if (!this.eventOpen) return NO_EVENTS;
    const endPts = Number.isNaN(this.quietSince) ? this.lastPts + this.lastInterval : this.quietSince;
    this.eventOpen = false;
    this.strongRun = 0;
    this.runStartPts = Number.NaN;
    return [this.emit('end', endPts, this.eventAcc)];
  }

  /**
   * One pass over the frame: 2×2 downscale, difference to the reference (then replaced by this frame), change
   * magnitude, thresholded changed map and the lightswitch counts. Returns true for a lighting change.
   * The kernel lists the few cells whose change reaches the smaller of threshold and lightswitch delta; only those
   * are looked at here.
   */
  private compare(data: Uint8Array): boolean {
    const { change, padded, analysed, aboveList, kernel } = this;
    const stride = this.gridWidth + 2;
    const threshold = this.baseThreshold;
    const delta = this.lightswitchDelta;
    let brighter = 0;
    let darker = 0;
    let above = 0;
    padded.fill(0);
    change.fill(0);
    this.compared++;
    const listed = kernel.diff(data, Math.min(threshold, delta), {
      cap: NOISE_CAP_THRESHOLDS * threshold,
      shift: this.noiseShift(),
    });
    const { listedCells, listedDiffs, listedNoise } = kernel;
    const gw = this.gridWidth;
    for (let k = 0; k < listed; k++) {
      const i = listedCells[k]!;
      if (analysed[i] === 0) continue;
      const d = listedDiffs[k]!;
      const m = d < 0 ? -d : d;
      change[i] = m;
      if (m >= delta) {
        if (d > 0) brighter++;
        else darker++;
      }
      if (m >= threshold && m * NOISE_SCALE >= NOISE_FACTOR * listedNoise[k]!) {
        const y = (i / gw) | 0;
        padded[i + 2 * y + stride + 1] = 1; // (y + 1) * stride + 1 + x
        aboveList[above++] = i;
      }
    }
    this.cellsAboveThreshold = above;
    const together = Math.max(brighter, darker);
    return this.activeCells > 0 && together >= this.params.lightswitchFraction * this.activeCells;
  }

  /**
   * The noise's step this frame, as a power of 2: a plain mean over the frames so far (1/k, rounded down to a power
   * of 2) until that is smaller than a running mean over NOISE_MEMORY_MS at the current frame interval.
   */
  private noiseShift(): number {
    const warmUp = Math.floor(Math.log2(this.compared));
    const interval =
      this.previousInterval > 0 ? Math.min(this.lastInterval, this.previousInterval) : this.lastInterval;
    if (!(interval > 0)) return Math.min(warmUp, MAX_NOISE_SHIFT);
    const memory = Math.round(Math.log2(NOISE_MEMORY_MS / interval));
    return Math.min(warmUp, MAX_NOISE_SHIFT, Math.max(MIN_NOISE_SHIFT, memory));
  }

  /**
   * Groups this frame's changed cells into 8-connected blobs: afterwards blobSizes[blobOf[p]] is the size of the
   * blob holding padded cell p.
   */
  private labelBlobs(): void {
    const stride = this.gridWidth + 2;
    const { padded, blobOf, blobSizes, queue, aboveList, neighbourOffsets, neighbourCount } = this;
    const gw = this.gridWidth;
    let blobs = 0;
    for (let k = 0; k < this.cellsAboveThreshold; k++) {
      const i = aboveList[k]!;
      const p0 = i + 2 * ((i / gw) | 0) + stride + 1;
      blobOf[p0] = -1;
    }
    for (let k = 0; k < this.cellsAboveThreshold; k++) {
      const i = aboveList[k]!;
      const p0 = i + 2 * ((i / gw) | 0) + stride + 1;
      if (blobOf[p0] !== -1) continue;
      const label = blobs++;
      let head = 0;
      let tail = 0;
      queue[tail++] = p0;
      blobOf[p0] = label;
      while (head < tail) {
        const p = queue[head++]!;
        let around = 0;
        for (let o = 0; o < 8; o++) {
          const q = p + neighbourOffsets[o]!;
          if (padded[q] === 1) {
            around++;
            if (blobOf[q] === -1) {
              blobOf[q] = label;
              queue[tail++] = q;
            }
          }
        }
        neighbourCount[p] = around;
      }
      blobSizes[label] = tail;
    }
  }
  /** Keeps changed cells with enough changed neighbours and counts them per zone, with each zone's box. */
  private despeckleAndCount(): void {
    const gw = this.gridWidth;
    const gh = this.gridHeight;
    const stride = gw + 2;
    const { padded, change, zoneBits, zoneThreshold, zoneCount, zoneBox, aboveList } = this;
    const changed = this.analysis.changed;
    zoneCount.fill(0);
    this.zoneSliverCount.fill(0);
    changed.fill(0);
    for (let z = 0; z < zoneCount.length; z++) {
      zoneBox[z * 4] = gw;
      zoneBox[z * 4 + 1] = gh;
      zoneBox[z * 4 + 2] = -1;
      zoneBox[z * 4 + 3] = -1;
    }
    const n = this.cellsAboveThreshold;
    // Blob sizes decide something only when some zone asks for more than one cell and some blob could reach that.
    const labelled = n >= this.smallestObjectCells && this.largestObjectCells > 1;
    if (labelled) this.labelBlobs();
    const unlabelledSize = n >= this.smallestObjectCells ? n : 0;
    for (let k = 0; k < n; k++) {
      const i = aboveList[k]!;
      const y = (i / gw) | 0;
      const x = i - y * gw;
      const p = (y + 1) * stride + 1 + x;
      const blob = labelled ? this.blobSizes[this.blobOf[p]!]! : unlabelledSize;
      const neighbours = labelled
        ? this.neighbourCount[p]!
        : padded[p - stride - 1]! +
          padded[p - stride]! +
          padded[p - stride + 1]! +
          padded[p - 1]! +
          padded[p + 1]! +
          padded[p + stride - 1]! +
          padded[p + stride]! +
          padded[p + stride + 1]!;
      if (neighbours < DESPECKLE_MIN_NEIGHBOURS) continue;
      changed[i] = 1;
      const magnitude = change[i]!;
      let bits = zoneBits[i]!;
      while (bits !== 0) {
        const z = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        if (magnitude < zoneThreshold[z]!) continue;
        this.zoneSliverCount[z]!++;
        if (blob < this.zoneMinObjectCells[z]!) continue;
        zoneCount[z]!++;
        const b = z * 4;
        if (x < zoneBox[b]!) zoneBox[b] = x;
        if (y < zoneBox[b + 1]!) zoneBox[b + 1] = y;
        if (x > zoneBox[b + 2]!) zoneBox[b + 2] = x;
        if (y > zoneBox[b + 3]!) zoneBox[b + 3] = y;
      }
    }
  }

  /**
   * Hysteresis in time and amplitude: minMotionFrames consecutive motion frames start an event, dated back to the
   * first frame of the weak-motion run they belong to; eventGapMs without even weak motion ends it.
   */
  private step(pts: number, motion: boolean, weak: boolean, score: number): readonly MotionEvent[] {
    if (!this.eventOpen) {
      if (!weak) {
        this.strongRun = 0;
        this.runStartPts = Number.NaN;
        return NO_EVENTS;
      }
      if (Number.isNaN(this.runStartPts)) {
        this.runStartPts = pts;
        this.runAcc.reset();
      }
      if (!motion) {
        this.strongRun = 0;
        return NO_EVENTS;
      }
      if (this.strongRun === 0) this.strongRunStartPts = pts;
      this.strongRun++;
      this.accumulate(this.runAcc, score);
      if (this.strongRun < this.params.minMotionFrames) return NO_EVENTS;
      this.eventOpen = true;
      this.quietSince = Number.NaN;
      this.eventAcc.reset();
      this.eventAcc.merge(this.runAcc);
      this.sinceAcc.reset();
      this.lastEmitPts = pts;
      // A long weak run (a cat strolling) does not date a person's arrival back to its own beginning.
      const startPts =
        this.strongRunStartPts - this.runStartPts > MAX_BACKDATE_MS
          ? this.strongRunStartPts
          : this.runStartPts;
      return [this.emit('start', startPts, this.runAcc)];
    }
    if (weak) this.quietSince = Number.NaN;
    else if (Number.isNaN(this.quietSince)) this.quietSince = pts;
    if (motion) {
      this.accumulate(this.sinceAcc, score);
      this.accumulate(this.eventAcc, score);
    }
    if (!Number.isNaN(this.quietSince) && pts - this.quietSince >= this.params.eventGapMs) {
      this.eventOpen = false;
      this.strongRun = 0;
      this.runStartPts = Number.NaN;
      return [this.emit('end', this.quietSince, this.eventAcc)];
    }
    if (motion && pts - this.lastEmitPts >= this.params.updateIntervalMs) {
      this.lastEmitPts = pts;
      const update = this.emit('update', pts, this.sinceAcc);
      this.sinceAcc.reset();
      return [update];
    }
    return NO_EVENTS;
  }

  /** Adds this frame's hit zones, their box and the score to an accumulator. */
  private accumulate(acc: Accumulator, score: number): void {
    acc.frames++;
    if (score > acc.peak) acc.peak = score;
    const { zoneCount, zoneMinCells, zoneBox } = this;
    for (let z = 0; z < zoneCount.length; z++) {
      if (zoneCount[z]! < zoneMinCells[z]!) continue;
      acc.zones |= 1 << z;
      const b = z * 4;
      acc.include(zoneBox[b]!, zoneBox[b + 1]!, zoneBox[b + 2]!, zoneBox[b + 3]!);
    }
  }

  private emit(type: MotionEventType, ptsMs: number, acc: Accumulator): MotionEvent {
    const gw = this.gridWidth;
    const gh = this.gridHeight;
    const box =
      acc.maxX < 0
        ? { x: 0, y: 0, w: 0, h: 0 }
        : {
            x: round4(acc.minX / gw),
            y: round4(acc.minY / gh),
            w: round4((acc.maxX + 1 - acc.minX) / gw),
            h: round4((acc.maxY + 1 - acc.minY) / gh),
          };
    const zones: string[] = [];
    for (let z = 0; z < this.zoneNames.length; z++) if (acc.zones & (1 << z)) zones.push(this.zoneNames[z]!);
    return { type, ptsMs, score: round4(acc.peak), box, zones };
  }
}

class Accumulator {
  frames = 0;
  peak = 0;
  zones = 0;
  minX = Number.POSITIVE_INFINITY;
  minY = Number.POSITIVE_INFINITY;
  maxX = -1;
  maxY = -1;

  reset(): void {
    this.frames = 0;
    this.peak = 0;
    this.zones = 0;
    this.minX = Number.POSITIVE_INFINITY;
    this.minY = Number.POSITIVE_INFINITY;
    this.maxX = -1;
    this.maxY = -1;
  }

  include(minX: number, minY: number, maxX: number, maxY: number): void {
    if (maxX < 0) return;
    if (minX < this.minX) this.minX = minX;
    if (minY < this.minY) this.minY = minY;
    if (maxX > this.maxX) this.maxX = maxX;
    if (maxY > this.maxY) this.maxY = maxY;
  }

  merge(other: Accumulator): void {
    this.frames += other.frames;
    if (other.peak > this.peak) this.peak = other.peak;
    this.zones |= other.zones;
    this.include(other.minX, other.minY, other.maxX, other.maxY);
  }
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
