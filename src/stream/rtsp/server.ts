/**
 * The RTSP server (RFC 2326) that lets NVRs, go2rtc, Home Assistant, ffmpeg and GStreamer pull a device's live
 * H.264 (RFC 6184) over TCP-interleaved or UDP RTP. Every viewer of a path shares one LiveVideo (one encode); a slow
 * or stuck viewer loses pictures or is closed, never delaying the others. Connections are capped, idle ones and
 * half-sent requests time out, and sessions end when their client goes quiet.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import type { Logger } from '../../log/logger.js';
import type { LiveVideo } from '../live-video.js';
import { type ConnectionContext, RtspConnection } from './connection.js';
import type { RtspSession } from './session.js';

export interface RtspServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** The stream a URL path names (e.g. "/front-door" or "/front-door/sub"), or undefined for a 404. */
  resolve(path: string): LiveVideo | undefined;
  /** Digest authentication (RFC 2617, MD5) on every method but OPTIONS when set. */
  credentials?: { username: string; password: string } | undefined;
  logger: Logger;
  /** A session without a request or RTCP for this long is torn down; advertised in the Session header. */
  sessionTimeoutMs?: number;
  /** At this many, a newcomer closes the quietest connection without a session, or is refused if all have one. */
  maxConnections?: number;
  maxSessions?: number;
  /** A request must be complete this long after its first byte. */
  headerTimeoutMs?: number;
  /** A connection with no session that sends nothing for this long is closed. */
  idleTimeoutMs?: number;
  /** Unsent bytes on an interleaved viewer's connection beyond which its pictures are dropped to the next keyframe. */
  maxViewerBacklogBytes?: number;
  /** A viewer that stays backlogged this long is closed. */
  stuckViewerCloseMs?: number;
  /** Measurement hook: a session sent its first picture, this long after its PLAY. */
  onFirstUnitSent?: (event: { path: string; sincePlayMs: number }) => void;
}

export interface RtspServer {
  port: number;
  url(path: string): string;
  stop(): Promise<void>;
}

const DEFAULTS = {
  sessionTimeoutMs: 60_000,
  maxConnections: 256,
  maxSessions: 128,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxViewerBacklogBytes: 2 * 1024 * 1024,
  stuckViewerCloseMs: 10_000,
};
const SENDER_REPORT_EVERY_MS = 5_000;
const SWEEP_EVERY_MS = 1_000;

export async function startRtspServer(options: RtspServerOptions): Promise<RtspServer> {
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  const logger = options.logger;
  const now = (): number => performance.now();
  const sessions = new Map<string, RtspSession>();
  const connections = new Set<RtspConnection>();

  const context: ConnectionContext = {
    resolve: (path) => options.resolve(path),
    credentials: options.credentials,
    realm: 'virtual-doorbell',
    logger,
    now,
    sessions,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    headerTimeoutMs: settings.headerTimeoutMs,
    maxSessions: settings.maxSessions,
    maxViewerBacklogBytes: settings.maxViewerBacklogBytes,
    warmHoldMs: settings.headerTimeoutMs,
    sdpSessionId: String(Date.now()),
    sessionEnv: {
      logger,
      now,
      stuckCloseMs: settings.stuckViewerCloseMs,
      senderReportEveryMs: SENDER_REPORT_EVERY_MS,
      onFirstUnitSent: options.onFirstUnitSent,
      onClosed: (session, reason) => {
        sessions.delete(session.id);
        logger.info({ session: session.id, path: session.path, reason }, 'rtsp session ended');
        // An interleaved viewer that stopped reading holds its connection's buffers: let them go too.
        if (reason === 'stuck' && session.owner instanceof RtspConnection) session.owner.close();
      },
    },
  };

  const server = createServer({ noDelay: true });
  server.on('connection', (socket: Socket) => {
    if (connections.size >= settings.maxConnections) {
      // Connections that only hold a socket must not lock viewers out: one without a session makes room (one that
      // never sent a request before a client mid-handshake). Only when all carry a session is the newcomer refused.
      const quietest = quietestWithoutSession(connections);
      if (!quietest) {
        logger.debug({ remote: socket.remoteAddress }, 'rtsp: too many connections; refusing one');
        socket.on('error', () => {});
        socket.destroy();
        return;
      }
      quietest.close();
      connections.delete(quietest);
    }
    connections.add(new RtspConnection(socket, context, (closed) => connections.delete(closed)));
  });
  server.on('error', (error) => logger.warn({ err: error.message }, 'rtsp server error'));

  const sweep = setInterval(() => {
    const at = now();
    for (const session of [...sessions.values()]) if (session.state.expired(at)) session.close('timeout');
    for (const connection of connections) {
      if (at - connection.lastHeardMs > settings.idleTimeoutMs && !connection.ownsOpenSession())
        connection.close();
    }
  }, SWEEP_EVERY_MS);
  sweep.unref();

  server.listen(options.port, options.host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      clearInterval(sweep);
      throw error;
    }),
  ]);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const urlHost = urlHostFor(options.host);
  logger.info({ host: options.host, port }, 'rtsp server listening');

  let stopping: Promise<void> | undefined;
  return {
    port,
    url: (path) => `rtsp://${urlHost}:${port}${path.startsWith('/') ? path : `/${path}`}`,
    stop: () => {
      stopping ??= (async () => {
        clearInterval(sweep);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const session of [...sessions.values()]) session.close('server stopping');
        for (const connection of connections) connection.close();
        await closed;
      })();
      return stopping;
    },
  };
}

/** The connection to close for a newcomer: never one with a session; first those that never sent a request. */
function quietestWithoutSession(connections: Set<RtspConnection>): RtspConnection | undefined {
  let quietest: RtspConnection | undefined;
  const rank = (connection: RtspConnection) => [connection.requestsSeen > 0 ? 1 : 0, connection.lastHeardMs];
  for (const connection of connections) {
    if (connection.ownsOpenSession()) continue;
    if (!quietest) {
      quietest = connection;
      continue;
    }
    const [spoke, heard] = rank(connection);
    const [quietestSpoke, quietestHeard] = rank(quietest);
    if (spoke! < quietestSpoke! || (spoke === quietestSpoke && heard! < quietestHeard!))
      quietest = connection;
  }
  return quietest;
}

function urlHostFor(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
