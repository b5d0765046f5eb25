import { describe, expect, it } from 'vitest';
import { type LumaFrame, MotionDetector, type MotionEvent } from '../../src/motion/detector.js';
import { type MotionSettingsInput, MotionSettingsSchema } from '../../src/motion/settings.js';

const W = 160;
const H = 120;
const STEP_MS = 100;

/** Frames of a flat gray scene with seeded sensor noise; `paint` draws on frame k. */
function scene(
  frames: number,
  paint: (k: number, data: Uint8Array) => void = () => {},
  noise = 3,
): LumaFrame[] {
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  return Array.from({ length: frames }, (_, k) => {
    const data = new Uint8Array(W * H);
    for (let i = 0; i < data.length; i++) data[i] = 100 + Math.round((rand() - 0.5) * 2 * noise);
    paint(k, data);
    return { ptsMs: k * STEP_MS, width: W, height: H, data };
  });
}

function box(data: Uint8Array, x: number, y: number, w: number, h: number, value = 200): void {
  for (let r = Math.max(0, y); r < Math.min(H, y + h); r++) {
    for (let c = Math.max(0, x); c < Math.min(W, x + w); c++) data[r * W + c] = value;
  }
}

function run(frames: LumaFrame[], settings: MotionSettingsInput = {}): Array<MotionEvent & { at: number }> {
  const detector = new MotionDetector(MotionSettingsSchema.parse(settings), { width: W, height: H });
  const events: Array<MotionEvent & { at: number }> = [];
  for (const frame of frames) for (const e of detector.push(frame)) events.push({ ...e, at: frame.ptsMs });
  for (const e of detector.finish()) events.push({ ...e, at: Number.NaN });
  return events;
}

/** A 24×24 block that appears at frame `from` and moves 4 px per frame until frame `to`, then stays. */
const mover =
  (from: number, to: number, y = 40) =>
  (k: number, data: Uint8Array) => {
    if (k >= from) box(data, 20 + 4 * (Math.min(k, to) - from), y, 24, 24);
  };

const halfLeft: Array<[number, number]> = [
  [0, 0],
  [0.5, 0],
  [0.5, 1],
  [0, 1],
];
const halfRight: Array<[number, number]> = [
  [0.5, 0],
  [1, 0],
  [1, 1],
  [0.5, 1],
];

describe('MotionDetector', () => {
  it('stays silent on a still scene with sensor noise', () => {
    expect(run(scene(60), { sensitivity: 'high' })).toEqual([]);
  });

  it('dates start to the first changed frame and end to the first still frame, after the event gap', () => {
    const events = run(scene(60, mover(10, 30)), { sensitivity: 'medium' });
    const start = events[0]!;
    const end = events.at(-1)!;
    expect(start).toMatchObject({ type: 'start', ptsMs: 1000, zones: ['frame'], at: 1200 });
    expect(end).toMatchObject({ type: 'end', ptsMs: 3100, zones: ['frame'] });
    // Emitted once 1500 ms have passed without motion.
    expect(end.at).toBe(4600);
    expect(events.slice(1, -1).every((e) => e.type === 'update')).toBe(true);
  });

  it('sends updates at most once per update interval, only while things move', () => {
    const events = run(scene(60, mover(5, 40)), { updateIntervalMs: 1000 });
    const updates = events.filter((e) => e.type === 'update');
    expect(updates.length).toBeGreaterThanOrEqual(2);
    const emitted = [events[0]!.at, ...updates.map((u) => u.at)];
    for (let i = 1; i < emitted.length; i++)
      expect(emitted[i]! - emitted[i - 1]!).toBeGreaterThanOrEqual(1000);
    for (const u of updates) expect(u.ptsMs).toBeLessThanOrEqual(4000);
  });

  it('reports a normalized box around the moving block and a score above one half', () => {
    const [start] = run(scene(30, mover(10, 30)));
    expect(start!.score).toBeGreaterThan(0.5);
    expect(start!.score).toBeLessThanOrEqual(1);
    const { x, y, w, h } = start!.box;
    // Frames 10-12: the block spans x 20..52, y 40..64 of 160×120.
    expect(x).toBeCloseTo(20 / W, 1);
    expect(y).toBeCloseTo(40 / H, 1);
    expect(x + w).toBeCloseTo(52 / W, 1);
    expect(y + h).toBeCloseTo(64 / H, 1);
  });

  it('closes an open event at the end of input', () => {
    const events = run(scene(20, mover(10, 100)));
    expect(events.map((e) => e.type)).toEqual(['start', 'end']);
    expect(events[1]).toMatchObject({ ptsMs: 2000, at: Number.NaN });
  });

  describe('lightswitch guard', () => {
    it('ignores a sudden brightness change of the whole picture', () => {
      const lights = (k: number, data: Uint8Array) => {
        if (k >= 10 && k < 25) for (let i = 0; i < data.length; i++) data[i] = data[i]! + 60;
      };
      expect(run(scene(40, lights), { sensitivity: 'high' })).toEqual([]);
    });

    it('ignores a fade over a few frames too', () => {
      const fade = (k: number, data: Uint8Array) => {
        const lift = Math.max(0, Math.min(4, k - 10)) * 15;
        for (let i = 0; i < data.length; i++) data[i] = data[i]! + lift;
      };
      expect(run(scene(30, fade), { sensitivity: 'high' })).toEqual([]);
    });

    it('still sees a large region that changes while the rest stays put', () => {
      const door = (k: number, data: Uint8Array) => {
        if (k >= 10) box(data, 0, 0, 60, 120, 30 + (k % 3) * 60);
      };
      expect(run(scene(20, door)).map((e) => e.type)).toContain('start');
    });

    it('is tuned by lightswitchFraction: the share of the picture that must change together', () => {
      // 60% of the picture brightens at once.
      const frames = scene(11, (k, data) => {
        if (k >= 10) for (let i = 0; i < W * 72; i++) data[i] = data[i]! + 60;
      });
      const lastAnalysis = (lightswitchFraction: number) => {
        const detector = new MotionDetector(MotionSettingsSchema.parse({ lightswitchFraction }), {
          width: W,
          height: H,
        });
        for (const frame of frames) detector.push(frame);
        return { lightswitch: detector.last.lightswitch, motion: detector.last.motion };
      };
      expect(lastAnalysis(0.5)).toEqual({ lightswitch: true, motion: false });
      expect(lastAnalysis(0.7)).toEqual({ lightswitch: false, motion: true });
    });
  });

  describe('masks and zones', () => {
    it('ignores motion inside a mask', () => {
      const inLeftHalf = mover(5, 12);
      expect(run(scene(30, inLeftHalf), { masks: [{ polygon: halfLeft }] })).toEqual([]);
      expect(run(scene(30, inLeftHalf), { masks: [{ polygon: halfRight }] }).length).toBeGreaterThan(0);
    });

    it('ignores motion outside every zone and names the zone that saw it', () => {
      const inLeftHalf = mover(5, 12);
      expect(run(scene(30, inLeftHalf), { zones: [{ name: 'right', polygon: halfRight }] })).toEqual([]);
      const events = run(scene(30, inLeftHalf), {
        zones: [
          { name: 'left', polygon: halfLeft },
          { name: 'right', polygon: halfRight },
        ],
      });
      expect(events[0]).toMatchObject({ type: 'start', zones: ['left'] });
    });

    it('applies each zone its own sensitivity', () => {
      // A 6×6 px spot that blinks: 9 changed cells per frame, enough for "high", too little for "low".
      const blink = (x: number) => (k: number, data: Uint8Array) => {
        if (k >= 5 && k % 2 === 1) box(data, x, 60, 6, 6, 220);
      };
      const zones = [
        { name: 'left', polygon: halfLeft, sensitivity: 'high' as const },
        { name: 'right', polygon: halfRight, sensitivity: 'low' as const },
      ];
      expect(run(scene(30, blink(20)), { zones })[0]).toMatchObject({ type: 'start', zones: ['left'] });
      expect(run(scene(30, blink(120)), { zones })).toEqual([]);
    });
  });

  describe('hysteresis', () => {
    const burst = (ranges: Array<[number, number]>) => (k: number, data: Uint8Array) => {
      for (const [from, to] of ranges) if (k >= from && k < to) box(data, 20 + 5 * (k - from), 40, 24, 24);
    };

    it('needs minMotionFrames consecutive motion frames to start', () => {
      expect(run(scene(30, burst([[10, 11]])))).toEqual([]);
      // Appearing at 10 and moving until 12: frames 10, 11, 12 and the vanishing at 13 change: enough.
      expect(run(scene(30, burst([[10, 13]]))).map((e) => e.type)).toEqual(['start', 'end']);
      expect(run(scene(30, burst([[10, 13]])), { minMotionFrames: 6 })).toEqual([]);
    });

    it('dates a start back along weak motion, but not by more than a second', () => {
      // A 6×6 spot blinking from frame 5 on is weak motion only; a person-sized mover arrives at frame 30.
      const scene30 = (k: number, data: Uint8Array) => {
        if (k >= 5 && k % 2 === 1) box(data, 130, 100, 6, 6, 220);
        mover(30, 60)(k, data);
      };
      const events = run(scene(50, scene30), { sensitivity: 'medium' });
      expect(events[0]).toMatchObject({ type: 'start', ptsMs: 3000 });
    });

    it('keeps one event across a pause shorter than the event gap, two across a longer one', () => {
      const short = run(
        scene(
          80,
          burst([
            [10, 20],
            [30, 40],
          ]),
        ),
        { eventGapMs: 1500 },
      );
      expect(short.filter((e) => e.type === 'start')).toHaveLength(1);
      const long = run(
        scene(
          80,
          burst([
            [10, 20],
            [30, 40],
          ]),
        ),
        { eventGapMs: 500 },
      );
      expect(long.filter((e) => e.type === 'start').map((e) => e.ptsMs)).toEqual([1000, 3000]);
      expect(long.filter((e) => e.type === 'end').map((e) => e.ptsMs)).toEqual([2100, 4100]);
    });
  });

  describe('moving background', () => {
    // On this 80×60 grid, medium's 15 object cells (given for 160×90) scale to 5; high keeps every blob.
    const appearing = (w: number, h: number) => (k: number, data: Uint8Array) => {
      if (k >= 10) box(data, 40, 40, w, h);
    };
    const sensitive = { minAreaFraction: 0.0001, minMotionFrames: 1 };

    it('counts only objects: a 2×2-cell change is too small at medium, a 3×2-cell one is not; high sees both', () => {
      expect(run(scene(20, appearing(4, 4)), sensitive)).toEqual([]);
      expect(run(scene(20, appearing(6, 4)), sensitive)[0]).toMatchObject({ type: 'start', ptsMs: 1000 });
      expect(run(scene(20, appearing(4, 4)), { ...sensitive, sensitivity: 'high' })[0]).toMatchObject({
        type: 'start',
        ptsMs: 1000,
      });
    });

    it('learns a flickering patch as noise and still sees a person walk past it', () => {
      const flicker = (k: number, data: Uint8Array) => {
        if (k % 2 === 1) box(data, 100, 8, 40, 40, 190);
      };
      const flickerOnly = run(scene(80, flicker));
      expect(flickerOnly.filter((e) => e.ptsMs >= 1000)).toEqual([]);
      const withPerson = run(
        scene(80, (k, data) => {
          flicker(k, data);
          mover(50, 70, 70)(k, data);
        }),
      );
      expect(withPerson.filter((e) => e.type === 'start' && e.ptsMs >= 1000).map((e) => e.ptsMs)).toEqual([
        5000,
      ]);
    });

    it('judges a change against the noise of the frames before it: seen at 0.5 fps and on the second frame', () => {
      const slow = scene(8, mover(1, 6)).map((frame, k) => ({ ...frame, ptsMs: k * 2_000 }));
      expect(run(slow, { minMotionFrames: 1 })[0]).toMatchObject({ type: 'start', ptsMs: 2_000 });
    });

    it('keeps what it learned across one jump in the timestamps', () => {
      // The patch holds still over the jump (frames 59 and 60 alike): a frame that replaced what was learned would
      // learn "no change" there, and the flicker after it would start an event.
      const flicker = (k: number, data: Uint8Array) => {
        if ((k < 60 ? k : k - 1) % 2 === 1) box(data, 100, 8, 40, 40, 190);
      };
      const jumped = scene(120, flicker).map((frame, k) => ({
        ...frame,
        ptsMs: k * STEP_MS + (k >= 60 ? 5_000 : 0),
      }));
      expect(run(jumped).filter((e) => e.ptsMs >= 1000)).toEqual([]);
    });
  });

  it('gives identical output for identical input', () => {
    const frames = scene(60, mover(10, 30));
    expect(run(frames, { sensitivity: 'high' })).toEqual(run(frames, { sensitivity: 'high' }));
  });

  it('refuses frames of another size', () => {
    const detector = new MotionDetector(MotionSettingsSchema.parse({}), { width: W, height: H });
    expect(() => detector.push({ ptsMs: 0, width: 100, height: 100, data: new Uint8Array(10_000) })).toThrow(
      'frame is 100x100, the detector was built for 160x120',
    );
  });

  it('exposes the last frame analysis for heat maps', () => {
    const detector = new MotionDetector(MotionSettingsSchema.parse({}), { width: W, height: H });
    const frames = scene(12, mover(10, 30));
    for (const frame of frames) detector.push(frame);
    const last = detector.last;
    expect(last).toMatchObject({
      ptsMs: 1100,
      motion: true,
      lightswitch: false,
      gridWidth: 80,
      gridHeight: 60,
    });
    expect(last.changed.reduce((s, v) => s + v, 0)).toBeGreaterThan(10);
  });
});
