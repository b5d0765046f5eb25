import { z } from 'zod';
import { issueLine } from '../util/zod-errors.js';

export const SENSITIVITIES = ['low', 'medium', 'high'] as const;
export type Sensitivity = (typeof SENSITIVITIES)[number];

/**
 * What a sensitivity means in numbers, tuned on the fixtures in fixtures/video (see their ground truth).
 * - pixelThreshold: a cell changed when its luma moved by at least this many levels (0-255) since the last frame;
 * - minAreaFraction: a zone sees motion when at least this share of its own area changed;
 * - minMotionFrames: consecutive motion frames needed before an event starts;
 * - minObjectCells: changed cells count only in a blob (8-connected, on the 2×2 grid) of at least this many cells of
 *   a 160×90 grid (the default 320-wide analysis), scaled with the grid's area: wind in foliage changes many cells,
 *   scattered; a person or a car changes one connected area (docs/motion.md). High sensitivity takes every blob, to
 *   see a cat, and so also sees foliage in a strong wind.
 */
export interface SensitivityPreset {
  pixelThreshold: number;
  minAreaFraction: number;
  minMotionFrames: number;
  minObjectCells: number;
}

/** The grid (160×90 cells) that minObjectCells is given for; other analysis sizes scale it by area. */
export const OBJECT_CELLS_GRID = 160 * 90;

export const SENSITIVITY_PRESETS: Readonly<Record<Sensitivity, Readonly<SensitivityPreset>>> = {
  low: { pixelThreshold: 30, minAreaFraction: 0.007, minMotionFrames: 3, minObjectCells: 15 },
  medium: { pixelThreshold: 22, minAreaFraction: 0.0045, minMotionFrames: 3, minObjectCells: 15 },
  high: { pixelThreshold: 15, minAreaFraction: 0.0006, minMotionFrames: 2, minObjectCells: 1 },
};

const unit = z.number().min(0).max(1);
export const PointSchema = z.tuple([unit, unit]);
export const PolygonSchema = z.array(PointSchema).min(3, 'a polygon needs at least 3 points');

export const ZoneSchema = z.strictObject({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/,
      'a zone name is 1-64 letters, digits, space, "_", "." or "-"',
    ),
  /** [[x, y], ...] in normalized picture coordinates, (0,0) top-left. */
  polygon: PolygonSchema,
  /** Overrides the block's sensitivity inside this zone. */
  sensitivity: z.enum(SENSITIVITIES).optional(),
});

export const MaskSchema = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  polygon: PolygonSchema,
});

export const MAX_ZONES = 32;

/** The `motion` block of a device profile. Parse it once; the detector takes the parsed value. */
export const MotionSettingsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    sensitivity: z.enum(SENSITIVITIES).default('medium'),
    /** Only motion inside a zone counts. No zones: the whole picture is one zone named "frame". */
    zones: z.array(ZoneSchema).max(MAX_ZONES).default([]),
    /** Ignored everywhere (trees, a busy street). */
    masks: z.array(MaskSchema).default([]),
    /** Overrides the preset's consecutive motion frames needed to start an event. */
    minMotionFrames: z.int().min(1).max(100).optional(),
    /** An event ends after this long without motion; its end time is the first still frame. */
    eventGapMs: z.int().min(0).max(600_000).default(1_500),
    /** While an event lasts, an `update` goes out this often. */
    updateIntervalMs: z.int().min(100).max(600_000).default(1_000),
    /** Frames are decoded to this width for analysis (aspect kept). */
    analysisWidth: z.int().min(32).max(1920).multipleOf(2).default(320),
    /** Advanced overrides of the preset. */
    pixelThreshold: z.int().min(1).max(255).optional(),
    minAreaFraction: z.number().gt(0).max(1).optional(),
    /**
     * Lightswitch guard: a frame where at least this share of the picture got brighter (or darker) together is a
     * lighting change, not motion.
     */
    lightswitchFraction: z.number().gt(0).max(1).default(0.5),
  })
  .superRefine((settings, ctx) => {
    const seen = new Set<string>();
    settings.zones.forEach((zone, i) => {
      if (seen.has(zone.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['zones', i, 'name'],
          message: `duplicate zone name "${zone.name}"`,
        });
      }
      seen.add(zone.name);
    });
  });

export type MotionSettings = z.output<typeof MotionSettingsSchema>;
export type MotionSettingsInput = z.input<typeof MotionSettingsSchema>;
export type Zone = z.output<typeof ZoneSchema>;
export type Mask = z.output<typeof MaskSchema>;
export type NormalizedPoint = z.output<typeof PointSchema>;

export const DEFAULT_ZONE_NAME = 'frame';

export interface ZoneParams {
  name: string;
  polygon: ReadonlyArray<NormalizedPoint> | undefined;
  pixelThreshold: number;
  minAreaFraction: number;
  minObjectCells: number;
}

/** Numbers the detector runs on, resolved from the settings and presets. */
export interface DetectorParams {
  zones: ZoneParams[];
  masks: ReadonlyArray<ReadonlyArray<NormalizedPoint>>;
  minMotionFrames: number;
  eventGapMs: number;
  updateIntervalMs: number;
  lightswitchFraction: number;
}

export function resolveDetectorParams(settings: MotionSettings): DetectorParams {
  const base = SENSITIVITY_PRESETS[settings.sensitivity];
  const zoneParams = (
    name: string,
    polygon: ZoneParams['polygon'],
    own: Sensitivity | undefined,
  ): ZoneParams => {
    // A zone with its own sensitivity takes that preset as is; everything else gets the block's numbers.
    if (own) return { name, polygon, ...pick(SENSITIVITY_PRESETS[own]) };
    return {
      name,
      polygon,
      pixelThreshold: settings.pixelThreshold ?? base.pixelThreshold,
      minAreaFraction: settings.minAreaFraction ?? base.minAreaFraction,
      minObjectCells: base.minObjectCells,
    };
  };
  const zones =
    settings.zones.length === 0
      ? [zoneParams(DEFAULT_ZONE_NAME, undefined, undefined)]
      : settings.zones.map((z) => zoneParams(z.name, z.polygon, z.sensitivity));
  return {
    zones,
    masks: settings.masks.map((m) => m.polygon),
    minMotionFrames: settings.minMotionFrames ?? base.minMotionFrames,
    eventGapMs: settings.eventGapMs,
    updateIntervalMs: settings.updateIntervalMs,
    lightswitchFraction: settings.lightswitchFraction,
  };
}

function pick(
  preset: SensitivityPreset,
): Pick<ZoneParams, 'pixelThreshold' | 'minAreaFraction' | 'minObjectCells'> {
  return {
    pixelThreshold: preset.pixelThreshold,
    minAreaFraction: preset.minAreaFraction,
    minObjectCells: preset.minObjectCells,
  };
}

/** Parses a motion block, turning the first zod issue into one line naming the field and the value given. */
export function parseMotionSettings(
  input: unknown,
  source = 'motion settings',
): { ok: true; value: MotionSettings } | { ok: false; error: string } {
  const result = MotionSettingsSchema.safeParse(input ?? {});
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: issueLine(result.error.issues[0]!, { source, root: '(root)', input }) };
}

/**
 * The motion block a JSON file holds: under "motion" (a profile) or "settings" (a fixture ground truth), without
 * `enabled` (the device's switch, not a detector setting); else the object itself.
 */
export function motionBlockOf(json: unknown): Record<string, unknown> | undefined {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const record = json as Record<string, unknown>;
  for (const key of ['motion', 'settings']) {
    const inner = record[key];
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      const { enabled: _enabled, ...rest } = inner as Record<string, unknown>;
      return rest;
    }
  }
  return record;
}
