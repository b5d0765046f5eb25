/**
 * HLS over HTTP: `/<deviceId>/hls/index.m3u8`, `init.mp4` and `seg-N.m4s` (the substream under `/<deviceId>/sub/hls/`).
 * A stream's segmenter subscribes to its LiveVideo on the first request and lets go after `idleMs` without one, so
 * HLS costs nothing while nobody watches and shares the one encode with RTSP and MJPEG while someone does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../log/logger.js';
import { hlsPlaylistPath } from '../device-streams.js';
import type { StreamHttpRoutes } from '../http-routes.js';
import type { AccessUnit, LiveVideo, StreamName, Subscription } from '../live-video.js';
import { HLS_FILES, type HlsSegment, HlsSegmenter } from './segmenter.js';

export interface HlsSource {
  video: LiveVideo;
  /** Device-clock ms of a feed time (the agent's camera feed knows); stamps EXT-X-PROGRAM-DATE-TIME. */
  deviceMsOf?: (feedMs: number) => number;
}

export interface HlsRoutesOptions {
  /** The stream to serve, or undefined for a device or stream this server does not have (404). */
  sourceFor(deviceId: string, stream: StreamName): HlsSource | undefined;
  /** A stream nobody asked anything of for this long stops (default 30 s). */
  idleMs?: number;
  /** How long the first playlist request waits for the first complete segment (default 8 s). */
  firstSegmentTimeoutMs?: number;
  keepSegments?: number;
  /** Streams served at once; more answer 503 (default 16). */
  maxSessions?: number;
  logger?: Logger;
}

/** The console's stream routes for HLS (it checks host and token first), plus the page's playlist path. */
export interface HlsRoutes extends StreamHttpRoutes {
  livePlaylist(deviceId: string): string | undefined;
  /** Streams currently segmenting. */
  readonly activeStreams: number;
  /** Stops every stream (the server is shutting down). */
  close(): void;
}

const PATH = /^\/([a-z0-9_-]{1,64})\/(?:(sub)\/)?hls\/(index\.m3u8|init\.mp4|seg-(\d{1,15})\.m4s)$/;

export function hlsRoutes(options: HlsRoutesOptions): HlsRoutes {
  const sessions = new Map<string, HlsSession>();
  const idleMs = options.idleMs ?? 30_000;
  const maxSessions = options.maxSessions ?? 16;

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    const match = PATH.exec(path);
    if (!match) return false;
    const [, deviceId, sub, file, sequence] = match as unknown as [
      string,
      string,
      string | undefined,
      string,
      string,
    ];
    const stream: StreamName = sub ? 'sub' : 'main';
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      reply(res, 405, 'method-not-allowed', 'use GET or HEAD', { Allow: 'GET, HEAD' });
      return true;
    }
    const key = `${deviceId}/${stream}`;
    let session = sessions.get(key);
    if (!session) {
      const source = options.sourceFor(deviceId, stream);
      if (!source) {
        reply(res, 404, 'not-found', `no ${stream} stream for device ${deviceId}`);
        return true;
      }
      if (sessions.size >= maxSessions) {
        reply(res, 503, 'too-many-streams', `HLS already serves ${maxSessions} streams`, {
          'Retry-After': '5',
        });
        return true;
      }
      session = new HlsSession(source, options, () => {
        if (sessions.get(key) === session) sessions.delete(key);
        options.logger?.info({ deviceId, stream }, 'HLS stream idle: stopped');
      });
      sessions.set(key, session);
      options.logger?.info({ deviceId, stream }, 'HLS stream started');
    }
    session.touch(idleMs);
    const segmenter = await session.ready(options.firstSegmentTimeoutMs ?? 8_000);
    if (!segmenter) {
      reply(res, 503, 'stream-not-ready', session.failure ?? 'the stream has no segment yet', {
        'Retry-After': '1',
      });
      return true;
    }
    if (file === HLS_FILES.playlist) {
      send(
        res,
        method,
        'application/vnd.apple.mpegurl',
        Buffer.from(segmenter.playlist(tokenQuery(req)), 'utf8'),
      );
    } else if (file === HLS_FILES.init) {
      send(res, method, 'video/mp4', segmenter.init);
    } else {
      const segment = segmenter.segment(Number(sequence));
      if (segment) send(res, method, 'video/iso.segment', segment.bytes);
      else reply(res, 404, 'segment-gone', `segment ${sequence} is not (or no longer) in the playlist`);
    }
    return true;
  };

  return {
    owns: (path) => PATH.test(path),
    handle,
    livePlaylist: (deviceId) =>
      options.sourceFor(deviceId, 'main') ? hlsPlaylistPath(deviceId, 'main') : undefined,
    get activeStreams() {
      return sessions.size;
    },
    close() {
      for (const session of sessions.values()) session.stop();
      sessions.clear();
    },
  };
}

/** One stream's segmenter while someone requests it. */
class HlsSession {
  private segmenter: HlsSegmenter | undefined;
  private subscription: Subscription | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<() => void>();
  private stopped = false;
  failure: string | undefined;

  constructor(
    source: HlsSource,
    private readonly options: HlsRoutesOptions,
    private readonly onStop: () => void,
  ) {
    void this.start(source);
  }

  touch(idleMs: number): void {
    clearTimeout(this.idleTimer);
    // A request still waiting for the first segment is not idleness (an encoder can take seconds to start).
    this.idleTimer = setTimeout(() => (this.waiters.size > 0 ? this.touch(idleMs) : this.stop()), idleMs);
    this.idleTimer.unref();
  }

  /** The segmenter once it has a segment, or undefined after `timeoutMs` (or a failed start). */
  async ready(timeoutMs: number): Promise<HlsSegmenter | undefined> {
    if (this.hasSegment() || this.failure) return this.hasSegment() ? this.segmenter : undefined;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
    return this.hasSegment() ? this.segmenter : undefined;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.idleTimer);
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.wake();
    this.onStop();
  }

  private hasSegment(): boolean {
    return (this.segmenter?.segments.length ?? 0) > 0;
  }

  private async start(source: HlsSource): Promise<void> {
    // Units may arrive before subscribe() resolves (the current group of pictures is replayed at once).
    const early: AccessUnit[] = [];
    const onUnit = (unit: AccessUnit) => {
      if (!this.segmenter) {
        if (early.length < 1_000) early.push(unit);
        return;
      }
      this.accept(this.segmenter.push(unit));
    };
    try {
      const subscription = await source.video.subscribe(onUnit, (error) => {
        // The encoder stopped or failed: the next request starts the stream afresh.
        if (error) this.options.logger?.warn({ err: error.message }, 'HLS stream ended');
        this.stop();
      });
      if (this.stopped) {
        subscription.unsubscribe();
        return;
      }
      this.subscription = subscription;
      const segmenter = new HlsSegmenter(subscription.info, {
        ...(this.options.keepSegments ? { keepSegments: this.options.keepSegments } : {}),
        ...(source.deviceMsOf ? { deviceMsOf: source.deviceMsOf } : {}),
      });
      for (const unit of early) this.accept(segmenter.push(unit));
      this.segmenter = segmenter;
    } catch (error) {
      this.failure = `the stream could not start: ${(error as Error).message}`;
      this.options.logger?.warn({ err: (error as Error).message }, 'HLS stream could not start');
      this.wake();
      this.stop();
    }
  }

  private accept(segment: HlsSegment | undefined): void {
    if (segment) this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function send(res: ServerResponse, method: string, contentType: string, body: Buffer): void {
  res.writeHead(200, {
    'Content-Type': contentType,
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
  });
  res.end(method === 'HEAD' ? undefined : body);
}

function reply(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/**
 * A playlist asked for with `?token=` hands the token on to its init and media segments: a player that keeps no
 * cookies (the console sets one) would otherwise get 401 on every segment.
 */
function tokenQuery(req: IncomingMessage): string {
  const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
  return token ? `?token=${encodeURIComponent(token)}` : '';
}
