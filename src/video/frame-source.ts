/**
 * One way to take frames, whatever makes them: a file decoded once (`doorbell motion`), the sample video looped and
 * paced to a clock (the agent's camera), or a fixture's build-independent luma frames (replay and fleet).
 */
import type { Clock } from '../clock/clock.js';
import { type DecodeOptions, decodeGrayFrames } from './ffmpeg/gray-decode.js';
import type { GrayFrame } from './frames.js';
import { lumaFixture } from './luma-frames.js';
import { paceFrames } from './pace.js';

export interface FrameRequest {
  /** Analysis width in pixels (even); the height follows the picture's aspect ratio. */
  width: number;
  /** Aborting ends the frames early, without an error. */
  signal?: AbortSignal | undefined;
}

export interface FrameSource {
  /** Frames in presentation order, `ptsMs` increasing; a looping source never ends by itself. */
  frames(request: FrameRequest): AsyncIterable<GrayFrame>;
}

/**
 * A video file decoded by ffmpeg, as fast as the consumer takes frames. With `recycleBuffers`, a frame's data is only
 * valid until the next-but-one frame is requested.
 */
export function videoFileSource(
  file: string,
  options: Pick<DecodeOptions, 'loop' | 'recycleBuffers' | 'stallTimeoutMs'> = {},
): FrameSource {
  return {
    frames: ({ width, signal }) =>
      decodeGrayFrames(file, { ...options, width, ...(signal ? { signal } : {}) }),
  };
}

export interface CameraSourceOptions {
  clock: Clock;
  /** 1 = real time. */
  speed?: number | undefined;
}

/**
 * The doorbell's camera: the sample video decoded in a loop and released no faster than its presentation times on
 * the clock. Buffers are recycled: copy a frame's data to keep it past the next frame.
 */
export function cameraSource(file: string, options: CameraSourceOptions): FrameSource {
  const looped = videoFileSource(file, { loop: true, recycleBuffers: true });
  return {
    frames: ({ width, signal }) =>
      paceFrames(looped.frames({ width, signal }), options.clock, {
        speed: options.speed ?? 1,
        ...(signal ? { signal } : {}),
      }),
  };
}

/**
 * A fixture's luma frames (decoded once per process and width, the same on every ffmpeg build: luma-frames.ts),
 * played `loops` times back to back at the file's frame rate. The frames are shared: never write to them.
 */
export function lumaFileSource(file: string, options: { loops?: number } = {}): FrameSource {
  const loops = options.loops ?? 1;
  return {
    async *frames({ width, signal }) {
      const luma = await lumaFixture(file, width);
      let index = 0;
      for (let loop = 0; loop < loops; loop++) {
        for (const data of luma.frames) {
          if (signal?.aborted) return;
          yield { index, ptsMs: index * luma.frameMs, width: luma.width, height: luma.height, data };
          index++;
        }
      }
    },
  };
}
