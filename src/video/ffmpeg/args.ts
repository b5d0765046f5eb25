/** ffmpeg option values shared by the encoders and seeks. */
/** Seconds for ffmpeg, nudged half a microsecond down so a frame exactly on the boundary is kept. */
export function seconds(ms: number): string {
  return Math.max(0, ms / 1000 - 5e-7).toFixed(7);
}

/**
 * Deterministic output for the same input and ffmpeg build: a fixed encoder thread count (never "auto", which
 * follows the machine's cores), no version strings. Two threads: measured, the decoded frames are identical to a
 * one-thread encode on both the bundled 2018 build and Debian's 5.1, and an encode takes ≈0.7× the time.
 */
export const DETERMINISTIC_H264 = [
  '-threads',
  '2',
  '-fflags',
  '+bitexact',
  '-flags:v',
  '+bitexact',
  '-map_metadata',
  '-1',
];
