// Types for hls-player.js, so the unit tests (TypeScript) can drive its parsers.
export interface PlaylistSegment {
  sequence: number;
  uri: string;
  durationS: number;
  programDateMs: number | undefined;
}
export interface MediaPlaylist {
  mediaSequence: number;
  targetDurationS: number;
  map: string | undefined;
  segments: PlaylistSegment[];
}
export function parsePlaylist(text: string, baseUrl: string): MediaPlaylist;
export function findBox(bytes: Uint8Array, path: string[]): Uint8Array | undefined;
export function describeInit(init: Uint8Array): { timescale: number; codec: string };
export function baseDecodeTime(segment: Uint8Array): number;
export class DeviceTimeline {
  clear(): void;
  add(mediaStartS: number, programDateMs: number | undefined): void;
  deviceMsAt(mediaTimeS: number): number | undefined;
}
export class HlsUnavailable extends Error {}
export function startHlsPlayer(
  video: unknown,
  playlistUrl: string,
  onStatus?: (status: { playing: boolean; message: string | undefined }) => void,
): { timeline: DeviceTimeline; ended: Promise<void>; stop(): void };
