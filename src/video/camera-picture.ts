/**
 * The picture the camera's encoder makes: the profile's resolution and frame rate, whatever the sample video's. Clips
 * and snapshots are framed like the live stream (cameraFramingFilter: cover and centre-crop) and re-timed to the
 * profile's rate the way a camera's sensor samples a scene: output frame m shows what was on screen at m/fps, the
 * source frame floor(m · sourceFps / fps) — a 15 fps source at 30 fps shows each frame twice. Pure.
 */
import { evenPictureSize, type PictureSize } from './ffmpeg/picture.js';

export interface CameraPicture extends PictureSize {
  fps: number;
}

/** What a profile's camera produces (sizes even, as 4:2:0 video needs): the one place the two are read together. */
export function cameraPicture(profile: { resolution: PictureSize; fps: number }): CameraPicture {
  return { ...evenPictureSize(profile.resolution), fps: profile.fps };
}

/** A frame a boundary lands within a millionth of counts as on it (float rates such as 30000/1001). */
const EPSILON_FRAMES = 1e-6;

/** Output frames of `sourceFrames` source frames re-timed from sourceFps to fps (they cover the same time). */
export function retimedFrameCount(sourceFrames: number, sourceFps: number, fps: number): number {
  if (sourceFrames <= 0) return 0;
  return Math.ceil((sourceFrames * fps) / sourceFps - EPSILON_FRAMES);
}

/** The source frame (counted from the clip's first) that output frame `frame` shows. */
export function retimedSourceFrame(frame: number, sourceFps: number, fps: number): number {
  return Math.floor((frame * sourceFps) / fps + EPSILON_FRAMES);
}

/**
 * ffmpeg's `fps` filter doing exactly that, on frames stamped from 0: rounding up puts source frame n on output tick
 * ceil(n · fps / sourceFps), so tick m holds the last frame at or before m/fps. Measured on the bundled 2018 build and
 * Debian's 5.1 alike (15 → 10, 20, 25, 30 fps): the frames and their count (retimedFrameCount) are the same.
 */
export function retimeFilter(fps: number): string {
  return `fps=fps=${fps}:round=up`;
}
