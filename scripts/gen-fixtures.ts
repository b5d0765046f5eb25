/**
 * Builds the sample videos in fixtures/video/ by rendering every frame in TypeScript (seeded PRNG, so the same
 * bytes go into the encoder every time) and piping raw RGB into ffmpeg (H.264, one encoder thread, bit-exact
 * flags). Beside each video a JSON file holds its exact ground truth:
 * - motion: intervals where a moving object (person, visitor, cat) changes pixels from one frame to the next,
 *   half-open [start, end): start is the first frame that differs from its predecessor, end the first frame
 *   that does not; in frames and in ms (pts = frame / fps);
 * - distractors: things that change pixels but are not motion (lighting, foliage, exposure drift, sensor noise);
 * - settings: the motion block to analyse the fixture with (e.g. the foliage mask);
 * - expected: the events the detector must report at each sensitivity (motion intervals closer than the default
 *   event gap merged; [] means it must not trigger), each with the labels of what moves in it (a walker is a
 *   person, a cat an animal: the MotionLabel names), so replay and the agent can simulate smart detection.
 *
 * Usage: npm run fixtures [-- --only NAME] [--out DIR]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MOTION_LABELS, type MotionLabel } from '../src/events/schemas.js';
import type { MotionSettingsInput, Sensitivity } from '../src/motion/settings.js';
import { MotionSettingsSchema, SENSITIVITIES } from '../src/motion/settings.js';
import { seededRandom } from '../src/util/random.js';
import { roundMs } from '../src/video/frames.js';
import { openRawVideoEncoder } from './lib/ffmpeg-dev.js';

const WIDTH = 640;
const HEIGHT = 360;
const FPS = 15;

// ---------------------------------------------------------------- drawing on a packed layer (0 = transparent)

type Rgb = readonly [number, number, number];
const pack = ([r, g, b]: Rgb): number => (0xff000000 | (r << 16) | (g << 8) | b) >>> 0;

class Layer {
  readonly px: Uint32Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.px = new Uint32Array(width * height);
  }
  clear(): void {
    this.px.fill(0);
  }
  rect(x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
    const c = pack(color);
    const ax = Math.max(0, Math.round(x0));
    const bx = Math.min(this.width, Math.round(x1));
    const ay = Math.max(0, Math.round(y0));
    const by = Math.min(this.height, Math.round(y1));
    for (let y = ay; y < by; y++) if (bx > ax) this.px.fill(c, y * this.width + ax, y * this.width + bx);
  }
  ellipse(cx: number, cy: number, rx: number, ry: number, color: Rgb): void {
    const c = pack(color);
    const ay = Math.max(0, Math.floor(cy - ry));
    const by = Math.min(this.height - 1, Math.ceil(cy + ry));
    for (let y = ay; y <= by; y++) {
      const dy = (y + 0.5 - cy) / ry;
      if (dy * dy > 1) continue;
      const half = rx * Math.sqrt(1 - dy * dy);
      const ax = Math.max(0, Math.round(cx - half));
      const bx = Math.min(this.width, Math.round(cx + half));
      if (bx > ax) this.px.fill(c, y * this.width + ax, y * this.width + bx);
    }
  }
}

/** Per-frame noise field: triangular values on a coarse grid, bilinearly interpolated to full size. */
class BlotchyNoise {
  private readonly grid: Float32Array;
  private readonly field: Float32Array;
  private readonly gw: number;
  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly cell: number,
  ) {
    this.gw = Math.ceil(width / cell) + 1;
    this.grid = new Float32Array(this.gw * (Math.ceil(height / cell) + 1));
    this.field = new Float32Array(width * height);
  }
  next(rand: () => number, amplitude: number): Float32Array {
    if (amplitude === 0) return this.field;
    for (let i = 0; i < this.grid.length; i++) this.grid[i] = (rand() + rand() - 1) * amplitude;
    const { width, height, cell, gw, grid, field } = this;
    for (let y = 0; y < height; y++) {
      const gy = Math.floor(y / cell);
      const ty = (y % cell) / cell;
      for (let x = 0; x < width; x++) {
        const gx = Math.floor(x / cell);
        const tx = (x % cell) / cell;
        const a = grid[gy * gw + gx]!;
        const b = grid[gy * gw + gx + 1]!;
        const c = grid[(gy + 1) * gw + gx]!;
        const d = grid[(gy + 1) * gw + gx + 1]!;
        field[y * width + x] = (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
      }
    }
    return field;
  }
}

// ---------------------------------------------------------------- the scene

/** A porch: sided wall, window, door with a lamp, concrete floor with a doormat; static texture from the seed. */
function renderPorch(seed: number): Uint8Array {
  const rand = seededRandom(seed);
  const rgb = new Uint8Array(WIDTH * HEIGHT * 3);
  const put = (x: number, y: number, [r, g, b]: Rgb, jitter: number) => {
    const i = (y * WIDTH + x) * 3;
    const j = (rand() - 0.5) * jitter;
    rgb[i] = clamp(r + j);
    rgb[i + 1] = clamp(g + j);
    rgb[i + 2] = clamp(b + j);
  };
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      if (y < 210) {
        const siding = y % 14 === 0 ? -28 : y % 14 === 1 ? -12 : 0;
        put(x, y, [196 + siding, 186 + siding, 164 + siding], 6);
      } else {
        const shade = Math.round((y - 210) * 0.12);
        put(x, y, [150 - shade, 148 - shade, 142 - shade], 14);
      }
    }
  }
  const box = (x0: number, y0: number, x1: number, y1: number, color: Rgb, jitter = 4) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) put(x, y, color, jitter);
  };
  box(70, 48, 190, 138, [228, 226, 218], 2); // window frame
  box(78, 56, 182, 130, [58, 74, 92], 6); // glass
  box(128, 56, 132, 130, [228, 226, 218], 2);
  box(392, 52, 488, 212, [238, 232, 220], 2); // door frame
  box(400, 60, 480, 212, [112, 72, 42], 8); // door
  box(466, 130, 472, 138, [210, 180, 60], 2); // knob
  box(505, 80, 517, 104, [40, 40, 40], 2); // lamp
  box(380, 226, 500, 252, [96, 58, 48], 10); // doormat
  box(520, 140, 534, 156, [238, 238, 238], 1); // bell button plate
  return rgb;
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

interface Person {
  jacket: Rgb;
  pants: Rgb;
  skin: Rgb;
  hair: Rgb;
}

/** A walking figure about 200 px tall at scale 1, feet at (fx, fy); `stride` animates legs and arms. */
function drawPerson(layer: Layer, fx: number, fy: number, scale: number, stride: number, look: Person): void {
  const s = scale;
  const swing = Math.sin(stride) * 9 * s;
  layer.rect(fx - 17 * s + swing, fy - 82 * s, fx - 3 * s + swing, fy, look.pants);
  layer.rect(fx + 3 * s - swing, fy - 82 * s, fx + 17 * s - swing, fy, look.pants);
  layer.rect(fx - 33 * s - swing * 0.6, fy - 148 * s, fx - 23 * s - swing * 0.6, fy - 88 * s, look.jacket);
  layer.rect(fx + 23 * s + swing * 0.6, fy - 148 * s, fx + 33 * s + swing * 0.6, fy - 88 * s, look.jacket);
  layer.rect(fx - 23 * s, fy - 152 * s, fx + 23 * s, fy - 78 * s, look.jacket);
  layer.ellipse(fx, fy - 170 * s, 15 * s, 18 * s, look.skin);
  layer.ellipse(fx, fy - 180 * s, 15 * s, 9 * s, look.hair);
}

/** A cat about 56×27 px at scale 0.8, feet at (fx, fy), facing left or right. */
function drawCat(layer: Layer, fx: number, fy: number, facing: 1 | -1, stride: number, s = 0.8): void {
  const fur: Rgb = [66, 60, 56];
  const swing = Math.sin(stride) * 3 * s;
  const bx = fx;
  const by = fy - 16 * s;
  for (const [dx, phase] of [
    [-16, 1],
    [-10, -1],
    [10, 1],
    [16, -1],
  ] as const) {
    layer.rect(bx + (dx - 2) * s + swing * phase, fy - 10 * s, bx + (dx + 2) * s + swing * phase, fy, fur);
  }
  layer.ellipse(bx, by, 24 * s, 9 * s, fur);
  layer.ellipse(bx + facing * 26 * s, by - 7 * s, 8 * s, 7 * s, fur);
  layer.rect(bx + facing * 22 * s, by - 17 * s, bx + facing * 25 * s, by - 12 * s, fur);
  layer.rect(bx + facing * 28 * s, by - 17 * s, bx + facing * 31 * s, by - 12 * s, fur);
  const tailFrom = bx - facing * 22 * s;
  const tailTo = bx - facing * 38 * s;
  layer.rect(Math.min(tailFrom, tailTo), by - 10 * s, Math.max(tailFrom, tailTo), by - 6 * s, fur);
}

// ---------------------------------------------------------------- actors and scripts

/** Something drawn over the porch (an actor, or a distractor such as foliage). */
interface Drawable {
  label: string;
  /** Draws itself for frame f (or not, when off screen). */
  draw(layer: Layer, f: number): void;
}

/** Something whose movement is motion. */
interface Actor extends Drawable {
  /** What it is to a smart camera: the label its motion events carry. */
  kind: MotionLabel;
}

type Keyframe = readonly [frame: number, x: number, y: number, scale: number];

/** Linear path through keyframes; holds the last pose. Returns undefined before the first. */
function along(keys: readonly Keyframe[], f: number) {
  if (f < keys[0]![0]) return undefined;
  for (let k = 0; k + 1 < keys.length; k++) {
    const [f0, x0, y0, s0] = keys[k]!;
    const [f1, x1, y1, s1] = keys[k + 1]!;
    if (f <= f1) {
      const t = f1 === f0 ? 1 : (f - f0) / (f1 - f0);
      return {
        x: x0 + (x1 - x0) * t,
        y: y0 + (y1 - y0) * t,
        scale: s0 + (s1 - s0) * t,
        moving: f1 !== f0 && x1 !== x0,
      };
    }
  }
  const [, x, y, scale] = keys.at(-1)!;
  return { x, y, scale, moving: false };
}

/** A person following keyframes; the stride follows the distance walked, so standing still is truly still. */
function walker(label: string, look: Person, keys: readonly Keyframe[]): Actor {
  let walked = 0;
  let last: { x: number; y: number } | undefined;
  let lastFrame = -1;
  return {
    label,
    kind: 'person',
    draw(layer, f) {
      const pose = along(keys, f);
      if (!pose) return;
      if (f !== lastFrame) {
        if (last) walked += Math.hypot(pose.x - last.x, pose.y - last.y);
        last = { x: pose.x, y: pose.y };
        lastFrame = f;
      }
      drawPerson(layer, pose.x, pose.y, pose.scale, walked / (16 * pose.scale), look);
    },
  };
}

function cat(label: string, keys: readonly Keyframe[]): Actor {
  return {
    label,
    kind: 'animal',
    draw(layer, f) {
      const pose = along(keys, f);
      if (!pose) return;
      const next = along(keys, f + 1) ?? pose;
      drawCat(layer, pose.x, pose.y, next.x >= pose.x ? 1 : -1, pose.x / 6);
    },
  };
}

const RESIDENT: Person = {
  jacket: [38, 66, 140],
  pants: [34, 34, 44],
  skin: [214, 170, 138],
  hair: [50, 36, 28],
};
const COURIER: Person = {
  jacket: [196, 60, 40],
  pants: [52, 48, 40],
  skin: [160, 112, 84],
  hair: [20, 18, 18],
};
const NEIGHBOUR: Person = {
  jacket: [44, 110, 60],
  pants: [70, 66, 90],
  skin: [230, 196, 170],
  hair: [150, 110, 60],
};
/** A pale raincoat: at night the dark clothes of the others are within ~20 levels of the dimmed porch. */
const LATE_WALKER: Person = {
  jacket: [178, 172, 150],
  pants: [96, 92, 84],
  skin: [214, 170, 138],
  hair: [50, 36, 28],
};

/** Foliage: leaves swaying inside a region on the left; static trunk. */
function foliage(seed: number): {
  actor: Drawable;
  polygon: Array<[number, number]>;
  mask: Array<[number, number]>;
} {
  const rand = seededRandom(seed);
  const leaves = Array.from({ length: 200 }, () => ({
    x: 30 + rand() * 130,
    y: 70 + rand() * 150,
    rx: 5 + rand() * 4,
    ry: 3 + rand() * 2,
    amp: 5 + rand() * 7,
    freq: 0.4 + rand() * 0.8,
    phase: rand() * Math.PI * 2,
    color: [30 + Math.round(rand() * 40), 90 + Math.round(rand() * 70), 30 + Math.round(rand() * 30)] as Rgb,
  }));
  const trunk: Rgb = [84, 60, 40];
  return {
    actor: {
      label: 'foliage',
      draw(layer, f) {
        layer.rect(88, 150, 100, 290, trunk);
        const t = f / FPS;
        const gust = 0.6 + 0.4 * Math.sin(t * 0.7);
        for (const leaf of leaves) {
          const dx = leaf.amp * gust * Math.sin(2 * Math.PI * leaf.freq * t + leaf.phase);
          const dy = 0.4 * leaf.amp * gust * Math.cos(2 * Math.PI * leaf.freq * t + leaf.phase);
          layer.ellipse(leaf.x + dx, leaf.y + dy, leaf.rx, leaf.ry, leaf.color);
        }
      },
    },
    polygon: [
      [0.025, 0.1667],
      [0.275, 0.1667],
      [0.275, 0.8056],
      [0.025, 0.8056],
    ],
    // The mask a user would draw: the bush with a margin.
    mask: [
      [0, 0.12],
      [0.31, 0.12],
      [0.31, 0.85],
      [0, 0.85],
    ],
  };
}

/** One tree crown or bush for windyFoliage(): an ellipse (px), an optional trunk below it, how far it sways. */
interface Crown {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  /** Peak sway of the crown in a gust, px (leaves flutter on top of it). */
  sway: number;
  trunk?: { x0: number; x1: number; y1: number };
}

/** A rectangle in pixels as a normalized polygon (clipped to the picture, 4 decimals). */
function box(x0: number, y0: number, x1: number, y1: number): Array<[number, number]> {
  const nx = (x: number) => Math.round((Math.min(WIDTH, Math.max(0, x)) / WIDTH) * 10_000) / 10_000;
  const ny = (y: number) => Math.round((Math.min(HEIGHT, Math.max(0, y)) / HEIGHT) * 10_000) / 10_000;
  return [
    [nx(x0), ny(y0)],
    [nx(x1), ny(y0)],
    [nx(x1), ny(y1)],
    [nx(x0), ny(y1)],
  ];
}

/**
 * A windy day: each crown is a mass of dark clumps that sway with their branch, lighter leaves fluttering on top,
 * all leaning downwind in gusts (a few smooth gusts from the seed on a steady breeze). Trunks stay put. One
 * distractor per crown, its polygon the box the crown can reach.
 */
function windyFoliage(
  seed: number,
  crowns: readonly Crown[],
): Array<{ kind: string; actor: Drawable; polygon: Array<[number, number]> }> {
  const rand = seededRandom(seed);
  const gusts = Array.from({ length: 4 }, (_, k) => ({
    at: 1 + k * 3 + rand() * 2,
    width: 0.8 + rand() * 0.8,
  }));
  // 0.35 (breeze) .. 1 (gust peak), smooth in time.
  const wind = (t: number) =>
    0.35 + 0.65 * Math.max(...gusts.map((g) => Math.exp(-(((t - g.at) / g.width) ** 2))));
  const bark: Rgb = [78, 58, 40];
  return crowns.map((crown) => {
    const inCrown = () => {
      for (;;) {
        const u = rand() * 2 - 1;
        const v = rand() * 2 - 1;
        if (u * u + v * v <= 1)
          return { x: crown.cx + u * crown.rx, y: crown.cy + v * crown.ry, depth: 1 - v };
      }
    };
    const area = Math.PI * crown.rx * crown.ry;
    const piece = (size: number, shade: 'clump' | 'leaf') => {
      const at = inCrown();
      const g = shade === 'clump' ? 58 + rand() * 34 : 100 + rand() * 80;
      return {
        ...at,
        rx: size * (0.8 + rand() * 0.5),
        ry: size * (0.6 + rand() * 0.4),
        // Higher in the crown sways further; a leaf flutters faster and with its own phase.
        reach: 0.55 + 0.45 * Math.min(1, at.depth),
        flutter: shade === 'leaf' ? 2 + rand() * 4 : 0.5 + rand() * 1.5,
        freq: shade === 'leaf' ? 0.9 + rand() * 1.4 : 0.35 + rand() * 0.3,
        phase: rand() * Math.PI * 2,
        color: [Math.round(g * 0.42), Math.round(g), Math.round(g * 0.38)] as Rgb,
      };
    };
    const clumps = Array.from({ length: Math.round(area / 520) }, () => piece(17, 'clump'));
    const leaves = Array.from({ length: Math.round(area / 260) }, () => piece(7, 'leaf'));
    const branchFreq = 0.3 + rand() * 0.25;
    const branchPhase = rand() * Math.PI * 2;
    // Furthest a piece can get from its rest position: sway and flutter, plus its own radius.
    const reachX = crown.sway + 6 + 23;
    const reachY = 0.15 * crown.sway + 3 + 17;
    return {
      kind: 'foliage',
      actor: {
        label: 'foliage',
        draw(layer, f) {
          const t = f / FPS;
          const w = wind(t);
          if (crown.trunk) {
            layer.rect(crown.trunk.x0, crown.cy, crown.trunk.x1, crown.trunk.y1, bark);
          }
          const sway = (p: { reach: number; freq: number; phase: number; flutter: number }) => {
            const branch = crown.sway * w * p.reach;
            const lean = 0.35 * branch;
            const swing = Math.sin(2 * Math.PI * branchFreq * t + branchPhase + p.phase * 0.15);
            const own = p.flutter * w * Math.sin(2 * Math.PI * p.freq * t + p.phase);
            return {
              dx: lean + 0.65 * branch * swing + own,
              dy: 0.15 * branch * Math.cos(2 * Math.PI * branchFreq * t + branchPhase) + 0.5 * own,
            };
          };
          for (const list of [clumps, leaves]) {
            for (const p of list) {
              const { dx, dy } = sway(p);
              layer.ellipse(p.x + dx, p.y + dy, p.rx, p.ry, p.color);
            }
          }
        },
      },
      polygon: box(
        crown.cx - crown.rx - reachX,
        crown.cy - crown.ry - reachY,
        crown.cx + crown.rx + reachX,
        crown.cy + crown.ry + reachY,
      ),
    };
  });
}

interface FixtureSpec {
  name: string;
  description: string;
  seconds: number;
  seed: number;
  /** Amplitude of per-pixel sensor noise, levels (triangular distribution ±noise). */
  noise: number;
  /** Amplitude of spatially correlated noise (blotches about 4 px across, like a denoised low-light sensor). */
  blotch?: number;
  crf: number;
  preset?: string;
  actors: Actor[];
  distractors?: Array<{ kind: string; actor?: Drawable; polygon?: Array<[number, number]> }>;
  /** Lamp brightness 0 (off) .. 1 (on) per frame; the light is a gain with a falloff from the lamp. */
  lamp?: (f: number) => number;
  /** Gain on the whole picture per frame, before the noise (auto-exposure drift, night); default 1. */
  exposure?: (f: number) => number;
  /** Gain on the actors' pixels in place of `exposure` (a visitor lit by the porch light at night). */
  actorExposure?: number;
  settings?: MotionSettingsInput;
  /** Sensitivities at which the motion must be reported; the others must stay silent. */
  triggersOn: readonly Sensitivity[];
  /**
   * For distractor fixtures with `settings`: sensitivities at which the distractor does trigger without them. A
   * fixture without settings has nothing to take away, so it must not set this (its triggersOn says it all).
   */
  unmaskedTriggersOn?: readonly Sensitivity[];
  /**
   * Sensitivities at which the detector is known to miss this fixture's `expected`: why, and the [startMs, endMs)
   * events it reports instead (measured, docs/motion.md). The test holds the detector to those, so a change shows.
   */
  tradeOffs?: Partial<
    Record<Sensitivity, { why: string; detected: Array<{ startMs: number; endMs: number }> }>
  >;
  loop?: boolean;
}

const frameAt = (seconds: number) => Math.round(seconds * FPS);

/** Sensor noise and compression of a daylight fixture; a spec overrides what differs. */
const DAYLIGHT = { noise: 5, blotch: 8, crf: 26 } satisfies Pick<FixtureSpec, 'noise' | 'blotch' | 'crf'>;

/** A person crossing the porch left to right at full size, entering at `second`. */
function crossingRightward(second: number): Keyframe[] {
  const start = frameAt(second);
  return [
    [start, -45, 338, 1],
    [start + 80, 685, 338, 1],
  ];
}

/** A person walking in from the left up to the door, growing as they come closer, entering at `second`. */
function approachToDoor(second: number): Keyframe[] {
  const start = frameAt(second);
  return [
    [start, -45, 292, 0.82],
    [start + 62, 430, 342, 1.08],
  ];
}

/** approachToDoor(), standing still at the door for `waitFrames`, then leaving to the right. */
function visitAtDoor(second: number, waitFrames: number): Keyframe[] {
  const approach = approachToDoor(second);
  const [arrived] = approach.at(-1)!;
  return [...approach, [arrived + waitFrames, 430, 342, 1.08], [arrived + waitFrames + 36, 690, 330, 1.0]];
}

/** A cat crossing the porch from the `from` side to the other, entering at `second`. */
function catCrossing(second: number, from: 'left' | 'right'): Keyframe[] {
  const start = frameAt(second);
  const [enterX, leaveX] = from === 'left' ? [-60, 680] : [680, -60];
  return [
    [start, enterX, 300, 1],
    [start + 105, leaveX, 300, 1],
  ];
}

function specs(): FixtureSpec[] {
  const bush = foliage(77);
  return [
    {
      name: 'quiet-porch',
      description: 'Empty porch, sensor noise and compression only. Must not trigger.',
      seconds: 8,
      seed: 101,
      ...DAYLIGHT,
      actors: [],
      triggersOn: [],
    },
    {
      name: 'person-crossing',
      description: 'A person walks across the porch from left to right.',
      seconds: 9,
      seed: 202,
      ...DAYLIGHT,
      actors: [walker('person', RESIDENT, crossingRightward(1.5))],
      triggersOn: SENSITIVITIES,
    },
    {
      name: 'visitor-at-door',
      description:
        'A courier walks up to the door (growing as they come closer), stands still for 4 s, then leaves to the ' +
        'right. Standing still is not motion, and 4 s is longer than the event gap: two events.',
      seconds: 14,
      seed: 303,
      ...DAYLIGHT,
      actors: [walker('visitor', COURIER, visitAtDoor(1, 60))],
      triggersOn: SENSITIVITIES,
    },
    {
      name: 'lightswitch',
      description:
        'Nobody there; the porch light switches on at 2 s, off at 5 s, on again at 7 s. A lighting change is not motion.',
      seconds: 9,
      seed: 404,
      ...DAYLIGHT,
      actors: [],
      lamp: (f) => ((f >= frameAt(2) && f < frameAt(5)) || f >= frameAt(7) ? 1 : 0),
      distractors: [{ kind: 'lighting' }],
      triggersOn: [],
    },
    {
      name: 'foliage-masked',
      description:
        'A bush sways in the wind on the left the whole time. The mask in settings covers it: must not trigger with ' +
        'the mask (without it, high sensitivity triggers on the strongest gusts).',
      seconds: 8,
      seed: 505,
      ...DAYLIGHT,
      actors: [],
      distractors: [{ kind: 'foliage', actor: bush.actor, polygon: bush.polygon }],
      settings: { masks: [{ name: 'bush', polygon: bush.mask }] },
      triggersOn: [],
      unmaskedTriggersOn: ['high'],
    },
    {
      name: 'small-animal',
      description: 'A cat crosses the porch. Reported on high sensitivity, not on medium or low.',
      seconds: 9,
      seed: 606,
      ...DAYLIGHT,
      actors: [cat('cat', catCrossing(1, 'right'))],
      triggersOn: ['high'],
    },
    {
      name: 'heavy-compression',
      description: 'A person crosses right to left, encoded at CRF 44: blocky, smeared, still correct.',
      seconds: 8,
      seed: 707,
      ...DAYLIGHT,
      crf: 44,
      actors: [
        walker('person', NEIGHBOUR, [
          [frameAt(1.5), 690, 330, 1.05],
          [frameAt(1.5) + 85, -50, 330, 1.05],
        ]),
      ],
      triggersOn: SENSITIVITIES,
    },
    {
      name: 'porch-loop',
      description:
        'Default camera feed for `npm start` (loops seamlessly): a resident crosses, later a cat (high only), then ' +
        'a courier comes to the door, waits and leaves.',
      seconds: 30,
      seed: 808,
      ...DAYLIGHT,
      crf: 27,
      actors: [
        walker('person', RESIDENT, crossingRightward(1.5)),
        cat('cat', catCrossing(9.5, 'left')),
        walker('visitor', COURIER, visitAtDoor(18.5, 45)),
      ],
      triggersOn: SENSITIVITIES,
      loop: true,
    },
    {
      name: 'foliage-swaying',
      description:
        'A windy day: two trees, an overhanging branch and two bushes cover about two thirds of the picture and ' +
        'sway the whole time, harder in gusts; no mask, nothing else moves. Must not trigger at any sensitivity.',
      seconds: 10,
      seed: 909,
      ...DAYLIGHT,
      crf: 32,
      actors: [],
      distractors: windyFoliage(919, [
        { cx: 320, cy: 0, rx: 200, ry: 78, sway: 16 },
        { cx: 110, cy: 120, rx: 150, ry: 130, sway: 14, trunk: { x0: 98, x1: 124, y1: 360 } },
        { cx: 540, cy: 112, rx: 140, ry: 124, sway: 14, trunk: { x0: 528, x1: 552, y1: 360 } },
        { cx: 160, cy: 335, rx: 175, ry: 68, sway: 9 },
        { cx: 480, cy: 338, rx: 175, ry: 64, sway: 9 },
      ]),
      triggersOn: [],
      tradeOffs: {
        high: {
          why: 'high sensitivity counts every changed blob (to see a cat), so strong wind in foliage triggers it too',
          detected: [{ startMs: 66.667, endMs: 10000 }],
        },
      },
    },
    {
      name: 'foliage-person',
      description:
        'The same windy day with trees on both sides, a branch across the top and a bush in front on the left ' +
        '(about 45 % of the picture); after 3 s a resident walks in from the left, in front of the trees, up to the ' +
        'door and stays there. Only the walk is motion.',
      seconds: 11,
      seed: 1010,
      ...DAYLIGHT,
      crf: 32,
      actors: [walker('person', RESIDENT, approachToDoor(3))],
      distractors: windyFoliage(1020, [
        { cx: 320, cy: -10, rx: 220, ry: 70, sway: 16 },
        { cx: 95, cy: 115, rx: 135, ry: 125, sway: 14, trunk: { x0: 84, x1: 108, y1: 360 } },
        { cx: 595, cy: 105, rx: 110, ry: 120, sway: 14, trunk: { x0: 590, x1: 612, y1: 360 } },
        { cx: 70, cy: 330, rx: 120, ry: 62, sway: 9 },
      ]),
      triggersOn: SENSITIVITIES,
      tradeOffs: {
        low: {
          why: "the visitor's first three frames are slivers in front of the swaying tree; low's higher threshold sees them one frame later than medium (start +3 frames)",
          detected: [{ startMs: 3333.333, endMs: 7200 }],
        },
        high: {
          why: 'high sensitivity counts every changed blob (to see a cat), so strong wind in foliage triggers it too',
          detected: [{ startMs: 66.667, endMs: 11000 }],
        },
      },
    },
    {
      name: 'exposure-drift',
      description:
        "Empty porch while the camera's auto-exposure drifts: gain 1 for 1 s, a smooth cosine down to 0.6 and " +
        'back over 8 s, then 1 again. Under 2.5 levels per frame, 40 % in all. Not motion: must not trigger.',
      seconds: 10,
      seed: 1111,
      ...DAYLIGHT,
      actors: [],
      exposure: (f) => {
        const t = f / FPS - 1;
        return t <= 0 || t >= 8 ? 1 : 0.8 + 0.2 * Math.cos((2 * Math.PI * t) / 8);
      },
      distractors: [{ kind: 'exposure' }],
      triggersOn: [],
    },
    {
      name: 'night-noise',
      description:
        'Night: the porch at a quarter of its daylight brightness, heavy sensor noise (pixel ±18, blotches ±24); ' +
        'a person in a pale raincoat, lit by the porch light (0.8 of daylight), crosses the porch left to right.',
      seconds: 10,
      seed: 1212,
      noise: 18,
      blotch: 24,
      crf: 32,
      actors: [walker('person', LATE_WALKER, crossingRightward(2.5))],
      exposure: () => 0.25,
      actorExposure: 0.8,
      distractors: [{ kind: 'noise' }],
      triggersOn: SENSITIVITIES,
      tradeOffs: {
        high: {
          why: "high's 15-level threshold takes heavy night noise for motion in clusters",
          detected: [{ startMs: 333.333, endMs: 10000 }],
        },
      },
    },
  ];
}

// ---------------------------------------------------------------- ground truth

interface Interval {
  startFrame: number;
  endFrame: number;
  startMs: number;
  endMs: number;
  labels?: string[];
}

function interval(startFrame: number, endFrame: number, labels?: string[]): Interval {
  return {
    startFrame,
    endFrame,
    startMs: roundMs((startFrame * 1000) / FPS),
    endMs: roundMs((endFrame * 1000) / FPS),
    ...(labels ? { labels } : {}),
  };
}

/** Merges intervals whose gap is shorter than the event gap (the detector keeps one event across it). */
function mergeByGap(intervals: Interval[], gapMs: number): Interval[] {
  const out: Interval[] = [];
  for (const next of intervals) {
    const prev = out.at(-1);
    if (prev && next.startMs - prev.endMs < gapMs) {
      const labels = [...new Set([...(prev.labels ?? []), ...(next.labels ?? [])])];
      out[out.length - 1] = interval(prev.startFrame, next.endFrame, labels);
    } else out.push(next);
  }
  return out;
}

// ---------------------------------------------------------------- rendering + encoding

async function build(spec: FixtureSpec, outDir: string): Promise<{ name: string; bytes: number }> {
  if (spec.unmaskedTriggersOn && !spec.settings) {
    throw new Error(`${spec.name}: unmaskedTriggersOn needs settings to take away (it has none)`);
  }
  const frames = Math.round(spec.seconds * FPS);
  const porch = renderPorch(spec.seed);
  const noise = seededRandom(spec.seed ^ 0x9e3779b9);
  const actorLayer = new Layer(WIDTH, HEIGHT);
  const distractorLayer = new Layer(WIDTH, HEIGHT);
  const truthPrevious = new Uint32Array(WIDTH * HEIGHT);
  const labelLayers = spec.actors.map(() => new Layer(WIDTH, HEIGHT));
  const labelPrevious = spec.actors.map(() => new Uint32Array(WIDTH * HEIGHT));
  const lampGain = new Float32Array(WIDTH * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const d = Math.hypot(x - 511, y - 92) / Math.hypot(WIDTH, HEIGHT);
      lampGain[y * WIDTH + x] = 0.5 * (1 - 0.6 * d);
    }
  }
  const frame = new Uint8Array(WIDTH * HEIGHT * 3);
  const blotches = new BlotchyNoise(WIDTH, HEIGHT, 4);
  const file = join(outDir, `${spec.name}.mp4`);
  const encoder = openRawVideoEncoder({
    output: file,
    width: WIDTH,
    height: HEIGHT,
    fps: FPS,
    crf: spec.crf,
    preset: spec.preset ?? 'medium',
    gop: FPS * 2,
  });

  const motionFrames: Array<{ frame: number; labels: string[] }> = [];
  for (let f = 0; f < frames; f++) {
    actorLayer.clear();
    const labels: string[] = [];
    spec.actors.forEach((actor, a) => {
      const own = labelLayers[a]!;
      own.clear();
      actor.draw(own, f);
      const previous = labelPrevious[a]!;
      let differs = false;
      for (let i = 0; i < own.px.length; i++) {
        const c = own.px[i]!;
        if (c !== 0) actorLayer.px[i] = c;
        if (c !== previous[i]) differs = true;
      }
      if (differs && f > 0) labels.push(actor.label);
      previous.set(own.px);
    });
    // Frame 0 has no predecessor: it is never a motion frame (nor is any frame of the loop's first pass).
    let differs = false;
    if (f > 0) {
      for (let i = 0; i < actorLayer.px.length; i++) {
        if (actorLayer.px[i] !== truthPrevious[i]) {
          differs = true;
          break;
        }
      }
    }
    truthPrevious.set(actorLayer.px);
    if (differs) motionFrames.push({ frame: f, labels });

    distractorLayer.clear();
    for (const d of spec.distractors ?? []) d.actor?.draw(distractorLayer, f);
    const lamp = spec.lamp?.(f) ?? 0;
    const exposure = spec.exposure?.(f) ?? 1;
    const actorExposure = spec.actorExposure ?? exposure;
    const field = blotches.next(noise, spec.blotch ?? 0);
    for (let i = 0, p = 0; i < WIDTH * HEIGHT; i++, p += 3) {
      const actor = actorLayer.px[i]!;
      const c = actor || distractorLayer.px[i];
      let r: number;
      let g: number;
      let b: number;
      if (c) {
        r = (c >>> 16) & 0xff;
        g = (c >>> 8) & 0xff;
        b = c & 0xff;
      } else {
        r = porch[p]!;
        g = porch[p + 1]!;
        b = porch[p + 2]!;
      }
      // × 1 when there is no exposure: the pictures of the fixtures that have none stay bit-identical.
      const gain = (1 + lamp * lampGain[i]!) * (actor ? actorExposure : exposure);
      const n = (noise() + noise() - 1) * spec.noise + field[i]!;
      frame[p] = clamp(r * gain + n);
      frame[p + 1] = clamp(g * gain + n);
      frame[p + 2] = clamp(b * gain + n);
    }
    await encoder.write(frame);
  }
  const { bytes } = await encoder.finish();

  const motion: Interval[] = [];
  for (const { frame: f, labels } of motionFrames) {
    const last = motion.at(-1);
    if (last && last.endFrame === f) {
      const merged = interval(last.startFrame, f + 1, [...new Set([...(last.labels ?? []), ...labels])]);
      motion[motion.length - 1] = merged;
    } else motion.push(interval(f, f + 1, labels));
  }
  const settings = MotionSettingsSchema.parse(spec.settings ?? {});
  const kindOf = new Map(spec.actors.map((actor) => [actor.label, actor.kind]));
  const expected = Object.fromEntries(
    SENSITIVITIES.map((sensitivity) => {
      // A cat only counts where the spec says cats count (its triggersOn); people count everywhere they trigger.
      const counts = (label: string) => (label === 'cat' ? sensitivity === 'high' : true);
      const relevant = motion.filter((m) => (m.labels ?? []).some(counts));
      const events = spec.triggersOn.includes(sensitivity) ? mergeByGap(relevant, settings.eventGapMs) : [];
      return [
        sensitivity,
        events.map(({ labels = [], ...rest }) => {
          // What moves in the event, as a smart camera names it (in the order of MOTION_LABELS).
          const kinds = new Set(labels.filter(counts).map((label) => kindOf.get(label)));
          return { ...rest, labels: MOTION_LABELS.filter((kind) => kinds.has(kind)) };
        }),
      ];
    }),
  );
  const truth = {
    fixture: spec.name,
    video: `${spec.name}.mp4`,
    description: spec.description,
    width: WIDTH,
    height: HEIGHT,
    fps: FPS,
    frameCount: frames,
    durationMs: roundMs((frames * 1000) / FPS),
    loop: spec.loop ?? false,
    seed: spec.seed,
    encoder: { codec: 'h264', crf: spec.crf, preset: spec.preset ?? 'medium', gop: FPS * 2 },
    noise: { pixel: spec.noise, blotch: spec.blotch ?? 0 },
    motion,
    distractors: (spec.distractors ?? []).map((d) => ({
      kind: d.kind,
      ...(d.polygon ? { polygon: d.polygon } : {}),
    })),
    settings: spec.settings ?? {},
    ...(spec.unmaskedTriggersOn ? { withoutSettingsTriggersOn: spec.unmaskedTriggersOn } : {}),
    ...(spec.tradeOffs ? { tradeOffs: spec.tradeOffs } : {}),
    eventGapMs: settings.eventGapMs,
    expected,
  };
  await writeFile(join(outDir, `${spec.name}.json`), `${JSON.stringify(truth, null, 2)}\n`);
  return { name: spec.name, bytes };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: 'string', multiple: true }, out: { type: 'string' } },
  });
  const outDir = resolve(values.out ?? 'fixtures/video');
  await mkdir(outDir, { recursive: true });
  const chosen = specs().filter((s) => !values.only || values.only.includes(s.name));
  let total = 0;
  for (const spec of chosen) {
    const started = performance.now();
    const { bytes } = await build(spec, outDir);
    total += bytes;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `${spec.name.padEnd(18)} ${(bytes / 1024).toFixed(0).padStart(5)} KiB  ${seconds} s\n`,
    );
  }
  process.stdout.write(`total ${(total / 1024).toFixed(0)} KiB in ${outDir}\n`);
}

await main();
