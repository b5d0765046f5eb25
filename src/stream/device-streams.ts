/**
 * A device's two live streams and where they are served: the one source of truth for stream sizes and paths (the
 * RTSP server, the HTTP routes, the state's URLs and the docs all take them from here). Pure.
 */
import type { DeviceProfile } from '../config/profile.js';
import type { StreamUrls } from '../events/schemas.js';
import { evenPictureSize, type PictureSize } from '../video/ffmpeg/picture.js';
import { HLS_FILES } from './hls/segmenter.js';
import { STREAM_NAMES, type StreamName } from './live-video.js';

/** The substream's width, as real cameras offer next to their main stream (or the main width, if smaller). */
export const SUBSTREAM_WIDTH = 640;

export interface StreamSpec {
  name: StreamName;
  size: PictureSize;
  fps: number;
}

/** `main` at the profile's resolution and fps; `sub` at most 640 wide, aspect kept, same fps. */
export function deviceStreamSpecs(
  profile: Pick<DeviceProfile, 'resolution' | 'fps'>,
): Record<StreamName, StreamSpec> {
  const main = evenPictureSize(profile.resolution);
  const subWidth = Math.min(SUBSTREAM_WIDTH, main.width);
  const sub = evenPictureSize({
    width: subWidth,
    height: Math.max(2, Math.round((main.height * subWidth) / main.width)),
  });
  return {
    main: { name: 'main', size: main, fps: profile.fps },
    sub: { name: 'sub', size: sub, fps: profile.fps },
  };
}

/** Pictures per group (an IDR every second): how soon a new viewer gets a picture, for the encoder and ONVIF. */
export function gopLength(fps: number): number {
  return fps;
}

/** `/<id>` for main, `/<id>/sub` for the substream. */
export function rtspPath(deviceId: string, stream: StreamName): string {
  return stream === 'main' ? `/${deviceId}` : `/${deviceId}/sub`;
}

export function mjpegPath(deviceId: string, stream: StreamName): string {
  return `${rtspPath(deviceId, stream)}/mjpeg`;
}

/** The live HLS playlist (its init segment and media segments sit beside it). */
export function hlsPlaylistPath(deviceId: string, stream: StreamName): string {
  return `${rtspPath(deviceId, stream)}/hls/${HLS_FILES.playlist}`;
}

export function snapshotPath(deviceId: string): string {
  return `/${deviceId}/snapshot.jpg`;
}

/** What an HTTP path of the stream routes asks for, or undefined when it is not one of them. */
export type StreamRoute =
  | { kind: 'mjpeg'; deviceId: string; stream: StreamName }
  | { kind: 'snapshot'; deviceId: string };

export function parseStreamRoute(path: string): StreamRoute | undefined {
  const snapshot = /^\/([a-z0-9_-]{1,64})\/snapshot\.jpg$/.exec(path);
  if (snapshot) return { kind: 'snapshot', deviceId: snapshot[1]! };
  const mjpeg = /^\/([a-z0-9_-]{1,64})(\/sub)?\/mjpeg$/.exec(path);
  if (mjpeg) return { kind: 'mjpeg', deviceId: mjpeg[1]!, stream: mjpeg[2] ? 'sub' : 'main' };
  return undefined;
}

/** Which stream an RTSP path names (a trailing slash and a query are ignored), or undefined. */
export function parseRtspPath(deviceId: string, path: string): StreamName | undefined {
  const bare = path.split('?')[0]!.replace(/\/+$/, '');
  return STREAM_NAMES.find((name) => rtspPath(deviceId, name) === bare);
}

/** The URLs a client copies (state, console, docs); parts not served are omitted. `rtspOrigin` like rtsp://host:8554, `httpOrigin` like http://host:8080 (no trailing slash). */
export function streamUrls(
  deviceId: string,
  origins: { rtsp?: string | undefined; http?: string | undefined },
): StreamUrls {
  const urls: StreamUrls = {};
  const { rtsp, http } = origins;
  if (rtsp) urls.rtsp = { main: rtsp + rtspPath(deviceId, 'main'), sub: rtsp + rtspPath(deviceId, 'sub') };
  if (http) {
    urls.mjpeg = { main: http + mjpegPath(deviceId, 'main'), sub: http + mjpegPath(deviceId, 'sub') };
    urls.hls = {
      main: http + hlsPlaylistPath(deviceId, 'main'),
      sub: http + hlsPlaylistPath(deviceId, 'sub'),
    };
    urls.snapshot = http + snapshotPath(deviceId);
  }
  return urls;
}
