/**
 * The ONVIF HTTP server: SOAP 1.2 over POST to the device, media and events services and to each pull point.
 * Bodies are capped before they are read in full and parsed only by soap.ts; WS-UsernameToken is checked when
 * credentials are set; every failure is a SOAP fault (or, for a body too large to read, a closed connection).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../clock/clock.js';
import type { StreamUrls } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import type { StreamSpec } from '../stream/device-streams.js';
import type { StreamName } from '../stream/live-video.js';
import { hostForUrl } from '../ui/access.js';
import { bareAddress } from '../util/host.js';
import { urlForClient } from './addresses.js';
import { DEVICE_OPERATIONS } from './device-service.js';
import type { OnvifEvents } from './event-service.js';
import { MEDIA_OPERATIONS } from './media-service.js';
import {
  type OnvifDeviceInfo,
  type OperationTable,
  PRE_AUTH_OPERATIONS,
  SERVICE_PATHS,
  type ServiceContext,
} from './service-context.js';
import { faultEnvelope, MAX_ENVELOPE_BYTES, parseEnvelope, SoapFault, soapEnvelope } from './soap.js';
import { type OnvifCredentials, UsernameTokenVerifier, usernameTokenOf } from './ws-security.js';

export interface OnvifServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  credentials?: OnvifCredentials | undefined;
  clock: Clock;
  device: OnvifDeviceInfo;
  endpoint: string;
  streams: () => Record<StreamName, StreamSpec>;
  /** The device's stream URLs as its state announces them. */
  urls: () => StreamUrls | undefined;
  events: OnvifEvents;
  logger: Logger;
}

export interface OnvifServer {
  readonly port: number;
  stop(): Promise<void>;
}

const PULL_POINT_PATH = new RegExp(`^${SERVICE_PATHS.pullPoint}([0-9a-f-]{36})$`);

class BodyTooLarge extends Error {}

export async function startOnvifServer(options: OnvifServerOptions): Promise<OnvifServer> {
  const verifier = options.credentials
    ? new UsernameTokenVerifier(options.credentials, options.clock)
    : undefined;
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      options.logger.error({ err: error.message }, 'an ONVIF request failed');
      if (!res.headersSent)
        sendFault(res, new SoapFault('Receiver', 'ter:Action', 'the device failed to answer'));
      else res.destroy();
    });
  });
  // A client that sends its request slowly is cut off; a PullMessages answer may still take minutes.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 64;
  server.maxHeadersCount = 64;

  function operationsFor(path: string): OperationTable | undefined {
    if (path === SERVICE_PATHS.device) return DEVICE_OPERATIONS;
    if (path === SERVICE_PATHS.media) return MEDIA_OPERATIONS;
    if (path === SERVICE_PATHS.events) return options.events.operations;
    const pullPoint = PULL_POINT_PATH.exec(path);
    return pullPoint ? options.events.pullPointOperations(pullPoint[1]!) : undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const operations = operationsFor(path);
    if (!operations) return sendText(res, 404, `no ONVIF service at ${path}`);
    if (req.method !== 'POST')
      return sendText(res, 405, 'ONVIF services take SOAP over POST', { Allow: 'POST' });
    let text: string;
    try {
      text = await readBody(req);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      // Refused without reading the rest: the answer says why, then the connection closes.
      res.writeHead(413, { Connection: 'close', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`the envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`, () => req.socket.destroy());
      return;
    }
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    try {
      const request = parseEnvelope(text);
      const operation = Object.hasOwn(operations, request.action) ? operations[request.action] : undefined;
      if (!operation)
        throw new SoapFault(
          'Receiver',
          'ter:ActionNotSupported',
          `${request.action} is not supported at ${path}`,
        );
      // Pre-auth operations take no credentials, and some clients send an empty token with them (libonvif).
      if (verifier && !PRE_AUTH_OPERATIONS.has(request.action))
        verifier.verify(usernameTokenOf(request.header));
      const body = await operation(request, contextFor(req, closed.signal));
      if (res.destroyed) return;
      const xml = soapEnvelope(body);
      res.writeHead(200, {
        'Content-Type': 'application/soap+xml; charset=utf-8',
        'Content-Length': Buffer.byteLength(xml),
      });
      res.end(xml);
    } catch (error) {
      if (!(error instanceof SoapFault)) throw error;
      if (error.subcode === 'ter:NotAuthorized')
        options.logger.warn(
          { from: req.socket.remoteAddress, reason: error.message },
          'ONVIF request refused',
        );
      sendFault(res, error);
    }
  }

  function contextFor(req: IncomingMessage, closed: AbortSignal): ServiceContext {
    const local = bareAddress(req.socket.localAddress ?? options.host);
    const port = req.socket.localPort ?? 0;
    const urls = options.urls();
    const rtsp = urls?.rtsp;
    return {
      device: options.device,
      streams: options.streams(),
      origin: `http://${hostForUrl(local, port)}`,
      endpoint: options.endpoint,
      now: options.clock.now(),
      rtspUris: rtsp
        ? { main: urlForClient(rtsp.main, local), sub: urlForClient(rtsp.sub, local) }
        : undefined,
      snapshotUri: urls?.snapshot ? urlForClient(urls.snapshot, local) : undefined,
      closed,
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The body as text, refused (BodyTooLarge) as soon as its declared or received size passes the cap. */
function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_ENVELOPE_BYTES) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ENVELOPE_BYTES) {
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendFault(res: ServerResponse, fault: SoapFault): void {
  if (res.destroyed) return;
  const xml = faultEnvelope(fault);
  res.writeHead(fault.httpStatus, {
    'Content-Type': 'application/soap+xml; charset=utf-8',
    'Content-Length': Buffer.byteLength(xml),
  });
  res.end(xml);
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(text);
}
