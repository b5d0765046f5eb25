/**
 * One client's RTSP connection: its bytes are parsed into requests (answered one at a time, in order) and `$`-framed
 * data; each request is authorized, checked against its session's state and answered. A connection that sends
 * garbage gets a 400 and is closed; one that starts a request and never finishes it is closed after a timeout.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from '../../log/logger.js';
import { h264Sdp } from '../h264/sdp.js';
import type { LiveVideo } from '../live-video.js';
import { digestAuthorized, digestChallenge } from './digest.js';
import { type RtspRequest, RtspRequestParser, type RtspResponse, serializeResponse } from './messages.js';
import { type MediaSink, RtspSession, type SessionEnvironment } from './session.js';
import type { SessionMethod } from './session-state.js';
import { InterleavedSink, UdpSink } from './sinks.js';
import { chooseTransport } from './transport.js';
import { bindUdpPair, plainAddress } from './udp.js';
import { WarmStreams } from './warm-streams.js';

export interface ConnectionContext {
  resolve(path: string): LiveVideo | undefined;
  credentials: { username: string; password: string } | undefined;
  realm: string;
  logger: Logger;
  now(): number;
  sessions: Map<string, RtspSession>;
  sessionEnv: SessionEnvironment;
  sessionTimeoutMs: number;
  headerTimeoutMs: number;
  maxSessions: number;
  maxViewerBacklogBytes: number;
  /** How long a DESCRIBE keeps the encoder running for the PLAY that usually follows. */
  warmHoldMs: number;
  sdpSessionId: string;
}

const SUPPORTED_METHODS = new Set([
  'OPTIONS',
  'DESCRIBE',
  'SETUP',
  'PLAY',
  'PAUSE',
  'TEARDOWN',
  'GET_PARAMETER',
  'SET_PARAMETER',
]);
const PUBLIC_METHODS = [...SUPPORTED_METHODS].join(', ');
const UNSUPPORTED_METHODS = new Set(['ANNOUNCE', 'RECORD', 'REDIRECT']);
const MAX_QUEUED_REQUESTS = 16;
/** Main stream and substream, and room to spare; more from one client only crowds out the others. */
const MAX_SESSIONS_PER_CONNECTION = 8;
const TRACK_CONTROL = 'trackID=0';

/** The response, and what to start once it is written (RTP must not overtake the PLAY response). */
type Answer = { response: RtspResponse; afterReply?: () => Promise<void> };

export class RtspConnection {
  lastHeardMs: number;
  /** Complete requests received: a client in its handshake has some, a socket held open to fill slots none. */
  requestsSeen = 0;
  private readonly parser = new RtspRequestParser();
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private headerTimer: NodeJS.Timeout | undefined;
  private readonly warm: WarmStreams;
  private closed = false;
  private readonly nonce = randomBytes(16).toString('hex');

  constructor(
    readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    private readonly onClosed: (connection: RtspConnection) => void,
  ) {
    this.lastHeardMs = ctx.now();
    this.warm = new WarmStreams(ctx.warmHoldMs, ctx.logger);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => ctx.logger.debug({ err: error.message }, 'rtsp connection error'));
    socket.on('close', () => this.onClose());
  }

  /** Sessions set up on this connection that are still open. */
  ownsOpenSession(): boolean {
    for (const session of this.ctx.sessions.values()) if (session.owner === this) return true;
    return false;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const now = this.ctx.now();
    this.lastHeardMs = now;
    for (const input of this.parser.push(chunk)) {
      if (input.kind === 'interleaved') {
        // RTCP receiver reports from the client: its sessions on this connection are alive.
        for (const session of this.ctx.sessions.values())
          if (session.owner === this) session.state.heard(now);
      } else if (input.kind === 'request') {
        this.enqueue(input.request);
      } else {
        this.ctx.logger.debug({ reason: input.reason }, 'rtsp: unreadable request; closing');
        this.queue = this.queue.then(() => this.finish({ status: input.status, cseq: input.cseq }));
      }
    }
    if (this.parser.partial && !this.headerTimer) {
      this.headerTimer = setTimeout(() => {
        this.ctx.logger.debug('rtsp: request not finished in time; closing');
        void this.finish({ status: 400 });
      }, this.ctx.headerTimeoutMs);
    } else if (!this.parser.partial && this.headerTimer) {
      clearTimeout(this.headerTimer);
      this.headerTimer = undefined;
    }
  }

  /** Answers and closes the connection. */
  private async finish(response: RtspResponse): Promise<void> {
    if (this.closed) return;
    this.socket.end(serializeResponse(response));
    setTimeout(() => this.socket.destroy(), 1_000).unref();
  }

  private enqueue(request: RtspRequest): void {
    this.requestsSeen++;
    if (++this.queued > MAX_QUEUED_REQUESTS) {
      this.close();
      return;
    }
    this.queue = this.queue.then(async () => {
      this.queued--;
      if (this.closed) return;
      let answer: Answer;
      try {
        answer = await this.answer(request);
      } catch (error) {
        this.ctx.logger.warn(
          { err: (error as Error).message, method: request.method },
          'rtsp request failed',
        );
        answer = { response: { status: 500 } };
      }
      if (this.closed) return;
      if (this.socket.writableLength > 2 * this.ctx.maxViewerBacklogBytes) {
        // A client that sends requests but never reads the answers: they would pile up here.
        this.close();
        return;
      }
      const cseq = request.headers.get('cseq');
      this.socket.write(
        serializeResponse({ ...answer.response, cseq, headers: withServer(answer.response) }),
      );
      // Not awaited: a stream slow to start must not hold up this client's next request (a TEARDOWN, say).
      void answer.afterReply?.().catch((error: unknown) => {
        this.ctx.logger.warn({ err: (error as Error).message }, 'rtsp: starting the stream failed');
      });
    });
  }

  private async answer(request: RtspRequest): Promise<Answer> {
    if (request.headers.get('cseq') === undefined) return { response: { status: 400 } };
    const required = request.headers.get('require');
    // No option tags are supported (RFC 2326 §12.32).
    if (required !== undefined) return { response: { status: 551, headers: [['Unsupported', required]] } };
    const method = request.method;
    if (method === 'OPTIONS')
      return this.touching(request, { status: 200, headers: [['Public', PUBLIC_METHODS]] });
    if (UNSUPPORTED_METHODS.has(method))
      return { response: { status: 405, headers: [['Allow', PUBLIC_METHODS]] } };
    if (!SUPPORTED_METHODS.has(method)) return { response: { status: 501 } };
    if (!this.authorized(request)) {
      return {
        response: {
          status: 401,
          headers: [['WWW-Authenticate', digestChallenge(this.ctx.realm, this.nonce)]],
        },
      };
    }
    switch (method) {
      case 'DESCRIBE':
        return this.describe(request);
      case 'SETUP':
        return this.setup(request);
      case 'PLAY':
        return this.play(request);
      case 'PAUSE':
        return this.pause(request);
      case 'TEARDOWN':
        return this.teardown(request);
      default:
        return this.touching(request, { status: 200 });
    }
  }

  private authorized(request: RtspRequest): boolean {
    const credentials = this.ctx.credentials;
    if (!credentials) return true;
    return digestAuthorized({
      method: request.method,
      requestUri: request.uri,
      authorization: request.headers.get('authorization'),
      realm: this.ctx.realm,
      nonce: this.nonce,
      credentials,
    });
  }

  private async describe(request: RtspRequest): Promise<Answer> {
    const path = streamPath(request.uri);
    const live = path === undefined ? undefined : this.ctx.resolve(path);
    if (path === undefined || !live) return { response: { status: 404 } };
    const info = await this.warm.info(path, live);
    if (!info) return { response: { status: 503 } };
    const sdp = h264Sdp({
      sessionId: this.ctx.sdpSessionId,
      serverAddress: plainAddress(this.socket.localAddress ?? '0.0.0.0').address,
      title: path.replace(/^\//, '') || 'stream',
      control: TRACK_CONTROL,
      width: info.width,
      height: info.height,
      fps: info.fps,
      sps: info.sps,
      pps: info.pps,
    });
    const contentBase = `${request.uri.split('?')[0]!.replace(/\/+$/, '')}/`;
    return {
      response: {
        status: 200,
        headers: [['Content-Base', contentBase]],
        body: sdp,
        contentType: 'application/sdp',
      },
    };
  }

  private async setup(request: RtspRequest): Promise<Answer> {
    const path = streamPath(request.uri);
    const live = path === undefined ? undefined : this.ctx.resolve(path);
    if (path === undefined || !live) return { response: { status: 404 } };
    const sessionId = sessionIdOf(request);
    if (sessionId !== undefined) {
      const existing = this.ctx.sessions.get(sessionId);
      if (!existing) return { response: { status: 454 } };
      if (existing.path !== path) return { response: { status: 459 } };
      const transition = existing.state.apply('SETUP', this.ctx.now());
      if (!transition.ok) return { response: { status: transition.status } };
      return { response: { status: 200, headers: this.setupHeaders(existing) } };
    }
    const offer = chooseTransport(request.headers.get('transport'));
    if (!offer) return { response: { status: 461 } };
    const mine = [...this.ctx.sessions.values()].filter((session) => session.owner === this).length;
    if (this.ctx.sessions.size >= this.ctx.maxSessions || mine >= MAX_SESSIONS_PER_CONNECTION) {
      return { response: { status: 453 } };
    }
    let sink: MediaSink;
    if (offer.kind === 'tcp') {
      sink = new InterleavedSink(
        this.socket,
        this.freeChannels(offer.channels),
        this.ctx.maxViewerBacklogBytes,
      );
    } else {
      const pair = await bindUdpPair(this.socket.localAddress ?? '0.0.0.0');
      const client = plainAddress(this.socket.remoteAddress ?? '127.0.0.1').address;
      sink = new UdpSink(pair, client, offer.clientPorts);
    }
    const session = new RtspSession(
      path,
      request.uri,
      live,
      sink,
      this,
      this.ctx.sessionEnv,
      this.ctx.sessionTimeoutMs,
    );
    if (sink instanceof UdpSink) sink.onHeard(() => session.state.heard(this.ctx.now()));
    if (this.closed && sink.kind === 'tcp') {
      sink.close();
      return { response: { status: 500 } };
    }
    this.ctx.sessions.set(session.id, session);
    this.ctx.logger.info(
      { session: session.id, path, transport: sink.kind, remote: this.socket.remoteAddress },
      'rtsp session set up',
    );
    return { response: { status: 200, headers: this.setupHeaders(session) } };
  }

  private setupHeaders(session: RtspSession): [string, string][] {
    return [
      ['Transport', session.sink.transport(session.ssrc)],
      // Whole seconds, rounded down: a client keeping alive by it is never late.
      ['Session', `${session.id};timeout=${Math.max(1, Math.floor(this.ctx.sessionTimeoutMs / 1000))}`],
    ];
  }

  /** The requested interleaved channels, or the next pair no other session on this connection uses. */
  private freeChannels(requested: readonly [number, number] | undefined): readonly [number, number] {
    const used = new Set<number>();
    for (const session of this.ctx.sessions.values()) {
      if (session.owner === this && session.sink instanceof InterleavedSink) {
        used.add(session.sink.channels[0]).add(session.sink.channels[1]);
      }
    }
    if (requested && !used.has(requested[0]) && !used.has(requested[1])) return requested;
    let first = 0;
    while (used.has(first) || used.has(first + 1)) first += 2;
    return [first, first + 1];
  }

  private sessionFor(request: RtspRequest, method: SessionMethod): RtspSession | RtspResponse {
    const id = sessionIdOf(request);
    const session = id === undefined ? undefined : this.ctx.sessions.get(id);
    if (!session) return { status: 454 };
    const transition = session.state.apply(method, this.ctx.now());
    if (!transition.ok) return { status: transition.status };
    return session;
  }

  private play(request: RtspRequest): Answer {
    const session = this.sessionFor(request, 'PLAY');
    if (!(session instanceof RtspSession)) return { response: session };
    const { seq, rtptime } = session.rtpInfo;
    return {
      response: {
        status: 200,
        headers: [
          ['Session', session.id],
          ['Range', 'npt=0.000-'],
          ['RTP-Info', `url=${session.trackUrl};seq=${seq};rtptime=${rtptime}`],
        ],
      },
      afterReply: async () => {
        await session.play();
        this.warm.release(session.path);
      },
    };
  }

  private pause(request: RtspRequest): Answer {
    const session = this.sessionFor(request, 'PAUSE');
    if (!(session instanceof RtspSession)) return { response: session };
    session.pause();
    return { response: { status: 200, headers: [['Session', session.id]] } };
  }

  private teardown(request: RtspRequest): Answer {
    const session = this.sessionFor(request, 'TEARDOWN');
    if (!(session instanceof RtspSession)) return { response: session };
    session.close('teardown');
    return { response: { status: 200, headers: [['Session', session.id]] } };
  }

  /** GET_PARAMETER, SET_PARAMETER and OPTIONS: keep-alives for the session they name, if any. */
  private touching(request: RtspRequest, response: RtspResponse): Answer {
    if (sessionIdOf(request) === undefined) return { response };
    const session = this.sessionFor(request, request.method as SessionMethod);
    if (!(session instanceof RtspSession)) return { response: session };
    return { response: { ...response, headers: [...(response.headers ?? []), ['Session', session.id]] } };
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.headerTimer) clearTimeout(this.headerTimer);
    this.warm.close();
    // Interleaved sessions cannot outlive their connection; UDP ones may (RFC 2326 §3), until they time out.
    for (const session of [...this.ctx.sessions.values()]) {
      if (session.owner === this && session.sink.kind === 'tcp') session.close('connection closed');
    }
    this.onClosed(this);
  }
}

function withServer(response: RtspResponse): [string, string][] {
  return [['Server', 'virtual-doorbell'], ...(response.headers ?? [])] as [string, string][];
}

function sessionIdOf(request: RtspRequest): string | undefined {
  const value = request.headers.get('session');
  return value === undefined ? undefined : value.split(';')[0]!.trim();
}

/** The stream a request URL names: its path without the track's control suffix or a trailing slash. */
export function streamPath(uri: string): string | undefined {
  let path: string;
  try {
    path = uri.startsWith('/') ? uri.split('?')[0]! : new URL(uri).pathname;
    path = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  return path.replace(new RegExp(`/${TRACK_CONTROL}$`), '').replace(/\/+$/, '') || '/';
}
