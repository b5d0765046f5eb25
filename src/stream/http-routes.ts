/**
 * The stream routes on the console's HTTP server: `/<id>/mjpeg`, `/<id>/sub/mjpeg` and `/<id>/snapshot.jpg`
 * (paths from device-streams.ts). The console checks the host and token before handing a request here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../ui/http.js';
import type { DeviceLive } from './device-live.js';
import { parseStreamRoute } from './device-streams.js';

export interface StreamHttpRoutes {
  /** Whether `path` is a stream route (then its credentials may come as HTTP basic auth too). */
  owns(path: string): boolean;
  /** Serves `path` and resolves true, or resolves false when it is not a stream route. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** The device's live HLS playlist path, when these routes serve one (the console page plays it). */
  livePlaylist?(deviceId: string): string | undefined;
  /** Lets go of every stream (the server is shutting down). */
  close?(): void;
}

/** Routes for the devices `lookup` knows (an agent has one). */
export function streamHttpRoutes(lookup: (deviceId: string) => DeviceLive | undefined): StreamHttpRoutes {
  return {
    owns: (path) => parseStreamRoute(path) !== undefined,
    async handle(req, res, path) {
      const route = parseStreamRoute(path);
      if (!route) return false;
      const method = req.method ?? 'GET';
      const live = lookup(route.deviceId);
      if (!live) throw new HttpError(404, 'no-such-stream', `no live stream for device ${route.deviceId}`);
      if (route.kind === 'snapshot') {
        allow(method, ['GET', 'HEAD']);
        const jpeg = await live.snapshot().catch((error: Error) => {
          throw new HttpError(503, 'no-picture', `no snapshot: ${error.message}`);
        });
        res.writeHead(200, {
          'Content-Type': 'image/jpeg',
          'Content-Length': jpeg.length,
          'Cache-Control': 'no-store',
        });
        res.end(method === 'HEAD' ? undefined : jpeg);
        return true;
      }
      allow(method, ['GET']);
      const stream = live.mjpeg[route.stream];
      if (stream.full) {
        throw new HttpError(
          503,
          'too-many-clients',
          `the ${route.stream} MJPEG stream has all the viewers it takes`,
          {
            'Retry-After': '5',
          },
        );
      }
      stream.serve(res);
      return true;
    },
  };
}

function allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) {
    throw new HttpError(405, 'method-not-allowed', `use ${allowed.join(' or ')}`, {
      Allow: allowed.join(', '),
    });
  }
}
