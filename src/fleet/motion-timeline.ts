import type { DeviceProfile } from '../config/profile.js';
import { MotionDetector, type MotionEvent } from '../motion/detector.js';
import type { MotionSettings } from '../motion/settings.js';
import { lumaFileSource } from '../video/frame-source.js';
import { lumaFixture } from '../video/luma-frames.js';

/** The motion a looping fixture produces, detected once: events at their offset within one loop. */
export interface MotionTimeline {
  loopMs: number;
  events: ReadonlyArray<{ offsetMs: number; event: MotionEvent }>;
}

const cache = new Map<string, Promise<MotionTimeline>>();

/**
 * Detection result per (fixture, motion settings), shared by every device of a fleet: the fixture is decoded once
 * (the replay's build-independent luma frames), played three times through one detector, and the middle loop —
 * steady state, with the previous loop as background — is kept.
 */
export function motionTimeline(fixture: string, settings: MotionSettings): Promise<MotionTimeline> {
  const key = `${fixture}\0${JSON.stringify(settings)}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = detect(fixture, settings);
    cache.set(key, hit);
  }
  return hit;
}

/** The profile's motion settings with its privacy zones as masks, as the agent's camera uses them. */
export function fleetMotionSettings(profile: DeviceProfile): MotionSettings {
  const privacyMasks = profile.privacy.zones.map((zone) => ({ polygon: zone.polygon }));
  return { ...profile.motion, masks: [...profile.motion.masks, ...privacyMasks] };
}

async function detect(fixture: string, settings: MotionSettings): Promise<MotionTimeline> {
  const luma = await lumaFixture(fixture, settings.analysisWidth);
  const loopMs = luma.frames.length * luma.frameMs;
  const detector = new MotionDetector(settings, { width: luma.width, height: luma.height });
  const events: Array<{ offsetMs: number; event: MotionEvent }> = [];
  const frames = lumaFileSource(fixture, { loops: 3 }).frames({ width: settings.analysisWidth });
  for await (const frame of frames) {
    for (const event of detector.push(frame)) {
      if (event.ptsMs >= loopMs && event.ptsMs < 2 * loopMs) {
        events.push({ offsetMs: event.ptsMs - loopMs, event: { ...event, ptsMs: event.ptsMs - loopMs } });
      }
    }
  }
  events.sort((a, b) => a.offsetMs - b.offsetMs);
  return { loopMs, events };
}
