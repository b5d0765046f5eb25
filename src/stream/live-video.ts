/**
 * The contract between the one encoder per stream and everything that serves it (RTSP, HLS, MJPEG): access units in
 * decode order, each with the camera feed time it shows, so a viewer's picture lines up with the motion events.
 */

/** Which of a device's two streams: the profile's resolution, or the low-resolution substream real cameras offer. */
export type StreamName = 'main' | 'sub';
export const STREAM_NAMES: readonly StreamName[] = ['main', 'sub'];

/** One coded picture: its NAL units without Annex B start codes (SPS/PPS included before a keyframe). */
export interface AccessUnit {
  nals: readonly Buffer[];
  /** Presentation time on the stream's own clock, ms from its first picture (0, 1000/fps, …). */
  ptsMs: number;
  /** The camera feed time of this picture (the timeline of motion events' ptsMs). */
  feedMs: number;
  /** An IDR picture: a decoder can start here. */
  keyframe: boolean;
}

export interface StreamInfo {
  name: StreamName;
  width: number;
  height: number;
  fps: number;
  /** Sequence and picture parameter sets (for the SDP's sprop-parameter-sets and an MP4 avcC). */
  sps: Buffer;
  pps: Buffer;
}

export interface Subscription {
  info: StreamInfo;
  unsubscribe(): void;
}

/**
 * One encoded stream shared by all its viewers. The first subscriber starts the encoder, the last one leaving stops
 * it. A new subscriber's first access unit is a keyframe (the encoder's current group of pictures is replayed to it).
 */
export interface LiveVideo {
  /**
   * Units start after the returned promise resolved. `onEnd` hears when the stream ends without the viewer asking:
   * the encoder failed (an Error; the next subscribe starts a new one) or the stream was stopped (undefined).
   */
  subscribe(
    onUnit: (unit: AccessUnit) => void,
    onEnd?: (error: Error | undefined) => void,
  ): Promise<Subscription>;
}
