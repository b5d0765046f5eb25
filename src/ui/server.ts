import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { CommandArgs } from '../contract/commands.js';
import { type Logger, silentLogger } from '../log/logger.js';
import { CLIP_ID_PATTERN } from '../storage/keys.js';
import type { StreamHttpRoutes } from '../stream/http-routes.js';
import { UserError } from '../util/user-error.js';
import { issueLines, issuePath, valueAt } from '../util/zod-errors.js';
import {
  cookieNameFor,
  hostForUrl,
  isLoopbackHost,
  loopbackHostHeaders,
  presentedToken,
  sessionCookie,
  TOKEN_PATTERN,
  tokensMatch,
} from './access.js';
import type { ConsoleBackend } from './backend.js';
import { EventStreamHub } from './event-stream.js';
import { HttpError, readJsonBody, SECURITY_HEADERS, sendError, sendJson } from './http.js';
import { LiveHub } from './live.js';
import { parseByteRange, sliceBytes } from './range.js';
import { loadStaticAssets, STATIC_DIR, type StaticAsset } from './static-assets.js';

export interface ConsoleServerOptions {
  backend: ConsoleBackend;
  /** Loopback by default; anything else needs `token`. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** When set, every request must carry it (`?token=` once, then a cookie; or `Authorization: Bearer`). */
  token?: string;
  logger?: Logger;
  /** Concurrent server-sent-event clients (timeline); more are refused with 503. */
  maxEventClients?: number;
  /** Concurrent live-view clients; more are refused with 503. */
  maxLiveClients?: number;
  /** Where index.html, app.js… are read from; defaults to the package's src/ui/static. */
  staticDir?: string;
  /** The live stream routes (MJPEG, snapshot, HLS), under the same host and token rules. */
  streams?: StreamHttpRoutes | readonly StreamHttpRoutes[];
}

export interface ConsoleServer {
  /** Base URL, without the token. */
  readonly url: string;
  /** The URL to open in a browser: `url` plus `?token=` when a token is set. */
  readonly openUrl: string;
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A console that cannot start as configured; the message is one line naming the option and value. */
export class ConsoleConfigError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ConsoleConfigError';
  }
}

const SettingsSchema = z.object({
  host: z.string().min(1).max(255).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8080),
  token: z
    .string()
    .regex(TOKEN_PATTERN, 'must be 16-256 URL-safe characters (A-Z a-z 0-9 . _ ~ -)')
    .optional(),
  maxEventClients: z.number().int().min(1).max(1000).default(16),
  maxLiveClients: z.number().int().min(1).max(100).default(4),
});

const BODY_LIMIT_BYTES = 4096;
const FRAME_WAIT_MS = 2000;
const PressBody = z.object({}).strict();

/** Starts the local web console on node:http. Resolves once it listens; rejects with ConsoleConfigError. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const parsed = SettingsSchema.safeParse({
    host: options.host,
    port: options.port,
    token: options.token,
    maxEventClients: options.maxEventClients,
    maxLiveClients: options.maxLiveClients,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issuePath(issue, 'options');
    const value = issue.path.length ? valueAt(options, issue.path.slice(0, 1)) : undefined;
    const shown = field === 'token' ? '(hidden)' : JSON.stringify(value);
    throw new ConsoleConfigError(`console ${field} ${shown} is invalid: ${issue.message}`);
  }
  const settings = parsed.data;
  if (!isLoopbackHost(settings.host) && settings.token === undefined) {
    throw new ConsoleConfigError(
      `console host "${settings.host}" is reachable from other machines: give it a token ` +
        '(--ui-token, 16+ URL-safe characters) or bind it to 127.0.0.1',
    );
  }
  const assets = await loadStaticAssets(options.staticDir ?? STATIC_DIR);
  const http = new ConsoleHttp(
    options.backend,
    settings,
    assets,
    options.logger ?? silentLogger(),
    [options.streams ?? []].flat(),
  );
  return http.listen();
}

type Settings = z.infer<typeof SettingsSchema>;

class ConsoleHttp {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly events: EventStreamHub;
  private readonly live: LiveHub;
  private unsubscribeEvents: (() => void) | undefined;
  private port = 0;
  private allowedHosts: Set<string> | undefined;
  private cookieName = '';
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly backend: ConsoleBackend,
    private readonly settings: Settings,
    private readonly assets: Map<string, StaticAsset>,
    private readonly logger: Logger,
    private readonly streams: readonly StreamHttpRoutes[],
  ) {
    this.events = new EventStreamHub({
      maxClients: settings.maxEventClients,
      recentLimit: 50,
      maxBacklogBytes: 1 << 20,
      heartbeatMs: 15_000,
    });
    this.live = new LiveHub(backend, settings.maxLiveClients);
    this.server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
      void this.handle(req, res);
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  async listen(): Promise<ConsoleServer> {
    const { host, port } = this.settings;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        this.server.off('listening', onListening);
        reject(new ConsoleConfigError(listenFailure(error, host, port)));
      };
      const onListening = () => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen(port, host);
    });
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : port;
    this.cookieName = cookieNameFor(this.port);
    this.allowedHosts = isLoopbackHost(host) ? loopbackHostHeaders(host, this.port) : undefined;
    this.unsubscribeEvents = this.backend.onEvent((event) => this.events.publish(event));
    const url = `http://${hostForUrl(host, this.port)}/`;
    const token = this.settings.token;
    this.logger.info({ url }, 'console listening');
    return {
      url,
      openUrl: token ? `${url}?token=${token}` : url,
      host,
      port: this.port,
      stop: () => this.stop(),
    };
  }

  private stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.unsubscribeEvents?.();
      this.events.closeAll();
      this.live.closeAll();
      for (const routes of this.streams) routes.close?.();
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const socket of this.sockets) socket.destroy();
      await closed;
    })();
    return this.stopping;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    try {
      if (req.url?.startsWith('/shared/')) return await this.sendShared(req, res);
      await this.route(req, res);
    } catch (error) {
      if (error instanceof HttpError) {
        if (!res.headersSent) sendError(res, error);
        else res.destroy();
        return;
      }
      this.logger.error({ err: (error as Error).message, url: req.url }, 'console request failed');
      if (!res.headersSent)
        sendError(res, new HttpError(500, 'internal', 'the console hit an internal error'));
      else res.destroy();
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = this.admit(req, res);
    if (!url) return;
    const method = req.method ?? 'GET';
    const path = url.pathname;

    const asset = this.assets.get(path);
    if (asset) {
      allow(method, ['GET', 'HEAD']);
      res.writeHead(200, {
        'Content-Type': asset.contentType,
        'Content-Length': asset.body.length,
        'Cache-Control': 'no-cache',
      });
      res.end(method === 'HEAD' ? undefined : asset.body);
      return;
    }

    switch (path) {
      case '/api/state':
        allow(method, ['GET']);
        return sendJson(res, 200, this.snapshot());
      case '/api/press': {
        allow(method, ['POST']);
        await this.body(req, PressBody);
        const outcome = this.backend.press();
        return sendJson(res, 200, outcome.rang ? { rang: true } : { rang: false, reason: outcome.reason });
      }
      case '/api/sensitivity': {
        allow(method, ['POST']);
        const { sensitivity } = await this.body(req, CommandArgs.sensitivity);
        this.backend.setSensitivity(sensitivity);
        return sendJson(res, 200, { sensitivity });
      }
      case '/api/motion': {
        allow(method, ['POST']);
        const { enabled } = await this.body(req, CommandArgs.motion);
        this.backend.setMotionEnabled(enabled);
        return sendJson(res, 200, { motionEnabled: enabled });
      }
      case '/api/clips':
        allow(method, ['GET']);
        return sendJson(res, 200, await this.clipList());
      case '/api/events':
        allow(method, ['GET']);
        if (this.events.full) throw tooManyClients('timeline', this.settings.maxEventClients);
        this.events.add(res, this.snapshot());
        return;
      case '/api/live':
        allow(method, ['GET']);
        if (this.live.full) throw tooManyClients('live view', this.settings.maxLiveClients);
        this.live.add(res);
        return;
      case '/api/frame.jpg':
        return this.sendFrame(method, res);
    }

    for (const routes of this.streams) if (await routes.handle(req, res, path)) return;
    if (path.startsWith('/api/clips/')) {
      allow(method, ['GET', 'HEAD']);
      return this.sendClip(decodeSegment(path.slice('/api/clips/'.length)), req, res);
    }
    throw new HttpError(404, 'not-found', `no such page or endpoint: ${path.slice(0, 200)}`);
  }

  /** Host and token checks; answers the request itself (and returns undefined) when it must not go on. */
  private admit(req: IncomingMessage, res: ServerResponse): URL | undefined {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://console.invalid');
    } catch {
      throw new HttpError(400, 'bad-url', 'the request URL cannot be parsed');
    }
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (this.allowedHosts && !this.allowedHosts.has(hostHeader)) {
      throw new HttpError(
        403,
        'bad-host',
        `the console answers only to ${[...this.allowedHosts][0]} (Host was ${JSON.stringify(hostHeader.slice(0, 100))})`,
      );
    }
    const origin = req.headers.origin;
    if (
      req.method !== 'GET' &&
      req.method !== 'HEAD' &&
      origin !== undefined &&
      origin !== `http://${hostHeader}`
    ) {
      throw new HttpError(
        403,
        'cross-origin',
        `requests from ${JSON.stringify(origin.slice(0, 100))} are refused`,
      );
    }
    const expected = this.settings.token;
    if (expected === undefined) return url;
    const presented = presentedToken(req, url, this.cookieName);
    // Stream clients (Home Assistant, go2rtc, ffmpeg) send the token as a basic-auth password once challenged.
    const streamRoute = this.streams.some((routes) => routes.owns(url.pathname));
    if (!presented || !tokensMatch(presented.token, expected)) {
      throw new HttpError(
        401,
        presented ? 'bad-token' : 'token-required',
        presented
          ? 'the console token is wrong'
          : 'this console needs its token: open the URL printed at start-up (…/?token=…) or send Authorization: Bearer',
        streamRoute ? { 'WWW-Authenticate': 'Basic realm="doorbell", charset="UTF-8"' } : {},
      );
    }
    if (presented.via === 'query') {
      res.setHeader('Set-Cookie', sessionCookie(this.cookieName, expected));
      const page = !url.pathname.startsWith('/api/') && !streamRoute;
      if (page && (req.method === 'GET' || req.method === 'HEAD')) {
        // Drop the token from the address bar and history once the cookie carries it.
        url.searchParams.delete('token');
        res.writeHead(303, { Location: url.pathname + url.search, 'Cache-Control': 'no-store' });
        res.end();
        return undefined;
      }
    }
    return url;
  }

  private async body<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
    const raw = await readJsonBody(req, BODY_LIMIT_BYTES);
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    const problems = issueLines(result.error, { root: 'body', unknownKeys: 'parenthesized' });
    throw new HttpError(400, 'invalid-body', problems.join('; '));
  }

  private snapshot() {
    const deviceId = this.backend.deviceId();
    return {
      deviceId,
      livePlaylist: this.streams.map((routes) => routes.livePlaylist?.(deviceId)).find(Boolean) ?? null,
      now: new Date(this.backend.now()).toISOString(),
      state: this.backend.state(),
    };
  }

  private async clipList() {
    const now = this.backend.now();
    const clips = await this.backend.clips();
    return {
      now: new Date(now).toISOString(),
      clips: clips.map((clip) => ({
        ...clip,
        retainsForMs: Date.parse(clip.retainUntil) - now,
        playable: !clip.encrypted,
      })),
    };
  }

  private async sendFrame(method: string, res: ServerResponse): Promise<void> {
    allow(method, ['GET']);
    const frame = await this.live.nextFrame(FRAME_WAIT_MS);
    if (!frame) throw new HttpError(503, 'no-frame', `no live frame arrived within ${FRAME_WAIT_MS} ms`);
    res.writeHead(200, {
      'Content-Type': 'image/jpeg',
      'Content-Length': frame.jpeg.length,
      'Cache-Control': 'no-store',
      'X-Frame-At': frame.at,
    });
    res.end(frame.jpeg);
  }

  /** A release or clip link: no token (the holder has none), the link's signature and expiry are checked instead. */
  private async sendShared(req: IncomingMessage, res: ServerResponse): Promise<void> {
    allow(req.method ?? 'GET', ['GET', 'HEAD']);
    const opened = await this.backend.openShared?.(req.url ?? '');
    if (!opened) throw new HttpError(404, 'not-found', 'this device shares nothing');
    if ('status' in opened) throw new HttpError(opened.status, 'link-refused', opened.message);
    // An end-to-end encrypted clip is an envelope, not an MP4: a download to open with the owner's key.
    const name = (req.url ?? '')
      .split('?')[0]!
      .split('/')
      .pop()!
      .replace(/[^A-Za-z0-9._-]/g, '_');
    await this.sendBytes(req, res, opened, name, {
      'Content-Type': opened.encrypted ? 'application/octet-stream' : 'video/mp4',
      ...(opened.encrypted ? { 'Content-Disposition': `attachment; filename="${name}.enc"` } : {}),
      'Cache-Control': 'private, no-store',
    });
  }

  private async sendClip(clipId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!CLIP_ID_PATTERN.test(clipId)) {
      throw new HttpError(400, 'bad-clip-id', `clip id ${JSON.stringify(clipId.slice(0, 140))} is invalid`);
    }
    const listed = (await this.backend.clips()).find((clip) => clip.clipId === clipId);
    if (!listed) throw new HttpError(404, 'clip-not-found', `no clip ${clipId}`);
    if (listed.encrypted) {
      throw new HttpError(
        409,
        'clip-encrypted',
        `clip ${clipId} is encrypted; the console plays only plain clips`,
      );
    }
    const opened = await this.backend.openClip(clipId);
    if (!opened) throw new HttpError(404, 'clip-not-found', `no clip ${clipId}`);
    await this.sendBytes(req, res, opened, clipId, {
      'Content-Type': 'video/mp4',
      'Cache-Control': 'private, no-cache',
    });
  }

  /**
   * An object whole or one byte range of it (206; a seeking video player asks for ranges), or only its headers for
   * HEAD. `label` names it in a log line.
   */
  private async sendBytes(
    req: IncomingMessage,
    res: ServerResponse,
    { stream, bytes }: { stream: Readable; bytes: number },
    label: string,
    headers: Record<string, string>,
  ): Promise<void> {
    const range = parseByteRange(req.headers.range, bytes);
    if (range.kind === 'unsatisfiable') {
      stream.destroy();
      throw new HttpError(416, 'range-not-satisfiable', `${label} has ${bytes} bytes`, {
        'Content-Range': `bytes */${bytes}`,
      });
    }
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : bytes - 1;
    res.writeHead(range.kind === 'partial' ? 206 : 200, {
      ...headers,
      'Content-Length': Math.max(0, end - start + 1),
      'Accept-Ranges': 'bytes',
      ...(range.kind === 'partial' ? { 'Content-Range': `bytes ${start}-${end}/${bytes}` } : {}),
    });
    if (req.method === 'HEAD' || bytes === 0) {
      stream.destroy();
      res.end();
      return;
    }
    try {
      await pipeline(stream, (source: AsyncIterable<Buffer>) => sliceBytes(source, start, end), res);
    } catch (error) {
      // A seeking <video> aborts requests all the time; only a failure on our side is worth a log line.
      if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        this.logger.warn({ err: (error as Error).message, object: label }, 'object stream failed');
      }
      res.destroy();
    }
  }
}

function allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) {
    throw new HttpError(405, 'method-not-allowed', `use ${allowed.join(' or ')}`, {
      Allow: allowed.join(', '),
    });
  }
}

function tooManyClients(what: string, limit: number): HttpError {
  return new HttpError(503, 'too-many-clients', `the ${what} already has ${limit} clients`, {
    'Retry-After': '5',
  });
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'bad-clip-id', 'clip id is not valid percent-encoding');
  }
}

function listenFailure(error: NodeJS.ErrnoException, host: string, port: number): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `console port ${port} on ${host} is already in use (choose another with --ui-port, 0 = any free port)`;
    case 'EACCES':
      return `console port ${port} on ${host} needs privileges (choose a port above 1023 with --ui-port)`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return `console host "${host}" is not an address of this machine (--ui-host)`;
    default:
      return `console cannot listen on ${host}:${port}: ${error.message}`;
  }
}
