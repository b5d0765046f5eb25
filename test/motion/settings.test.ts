import { describe, expect, it } from 'vitest';
import {
  MotionSettingsSchema,
  parseMotionSettings,
  resolveDetectorParams,
  SENSITIVITY_PRESETS,
} from '../../src/motion/settings.js';

const square: Array<[number, number]> = [
  [0, 0],
  [0.5, 0],
  [0.5, 0.5],
  [0, 0.5],
];

describe('MotionSettingsSchema', () => {
  it('fills defaults from an empty block', () => {
    expect(MotionSettingsSchema.parse({})).toEqual({
      enabled: true,
      sensitivity: 'medium',
      zones: [],
      masks: [],
      eventGapMs: 1500,
      updateIntervalMs: 1000,
      analysisWidth: 320,
      lightswitchFraction: 0.5,
    });
  });

  it('accepts zones with their own sensitivity and masks', () => {
    const parsed = MotionSettingsSchema.parse({
      sensitivity: 'low',
      zones: [{ name: 'door step', polygon: square, sensitivity: 'high' }],
      masks: [{ polygon: square }],
    });
    expect(parsed.zones[0]).toEqual({ name: 'door step', polygon: square, sensitivity: 'high' });
  });

  it('names the field and the value for bad input', () => {
    expect(parseMotionSettings({ sensitivity: 'max' }, 'profile x')).toEqual({
      ok: false,
      error: expect.stringMatching(/^profile x: sensitivity: .*\(got "max"\)$/),
    });
    expect(parseMotionSettings({ zones: [{ name: 'a', polygon: [[0, 0]] }] })).toEqual({
      ok: false,
      error: expect.stringContaining('zones.0.polygon: a polygon needs at least 3 points'),
    });
    expect(
      parseMotionSettings({
        masks: [
          {
            polygon: [
              [0, 0],
              [2, 0],
              [0, 1],
            ],
          },
        ],
      }),
    ).toMatchObject({ ok: false });
    expect(parseMotionSettings({ colour: 'red' })).toMatchObject({ ok: false });
  });

  it('rejects duplicate zone names', () => {
    const result = parseMotionSettings({
      zones: [
        { name: 'porch', polygon: square },
        { name: 'porch', polygon: square },
      ],
    });
    expect(result).toEqual({
      ok: false,
      error: expect.stringContaining('zones.1.name: duplicate zone name "porch"'),
    });
  });
});

describe('resolveDetectorParams', () => {
  it('maps sensitivity presets to numbers and gives the whole picture a "frame" zone', () => {
    const params = resolveDetectorParams(MotionSettingsSchema.parse({ sensitivity: 'high' }));
    expect(params.zones).toEqual([
      {
        name: 'frame',
        polygon: undefined,
        pixelThreshold: SENSITIVITY_PRESETS.high.pixelThreshold,
        minAreaFraction: SENSITIVITY_PRESETS.high.minAreaFraction,
        minObjectCells: SENSITIVITY_PRESETS.high.minObjectCells,
      },
    ]);
    expect(params.minMotionFrames).toBe(SENSITIVITY_PRESETS.high.minMotionFrames);
  });

  it('orders presets: high reacts to less than medium, medium to less than low', () => {
    const { low, medium, high } = SENSITIVITY_PRESETS;
    expect(high.pixelThreshold).toBeLessThan(medium.pixelThreshold);
    expect(medium.pixelThreshold).toBeLessThan(low.pixelThreshold);
    expect(high.minAreaFraction).toBeLessThan(medium.minAreaFraction);
    expect(medium.minAreaFraction).toBeLessThan(low.minAreaFraction);
  });

  it('lets a zone keep its own preset while overrides apply to the rest', () => {
    const params = resolveDetectorParams(
      MotionSettingsSchema.parse({
        sensitivity: 'medium',
        pixelThreshold: 40,
        minMotionFrames: 5,
        zones: [
          { name: 'a', polygon: square },
          { name: 'b', polygon: square, sensitivity: 'low' },
        ],
      }),
    );
    expect(params.zones.map((z) => [z.name, z.pixelThreshold])).toEqual([
      ['a', 40],
      ['b', SENSITIVITY_PRESETS.low.pixelThreshold],
    ]);
    expect(params.minMotionFrames).toBe(5);
  });
});
