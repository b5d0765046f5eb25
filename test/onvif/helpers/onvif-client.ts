/**
 * The npm `onvif` client (a CommonJS package without types), typed as far as these tests use it, plus the one
 * thing it cannot do by itself: its Discovery.probe always sends to the WS-Discovery multicast group, which a
 * sandbox may not route. `redirectMulticastProbes` sends its own Probe datagram to a unicast address instead; the
 * client still builds the Probe and parses the ProbeMatch itself.
 */
import dgram from 'node:dgram';
import { createRequire } from 'node:module';

export interface CamOptions {
  hostname: string;
  port: number;
  username?: string;
  password?: string;
  path?: string;
  autoconnect?: boolean;
  timeout?: number;
}

type Callback<T> = (error: Error | null, value: T, xml?: string) => void;

export interface Cam extends NodeJS.EventEmitter {
  hostname: string;
  port: number;
  username?: string;
  password?: string;
  xaddrs?: URL[];
  uri?: Record<string, { href: string } | undefined>;
  profiles?: Array<{
    $: { token: string };
    name: string;
    videoEncoderConfiguration: Record<string, unknown>;
  }>;
  connect(callback: Callback<unknown>): void;
  getDeviceInformation(callback: Callback<Record<string, unknown>>): void;
  getProfiles(callback: Callback<unknown[]>): void;
  getStreamUri(
    options: { protocol?: string; profileToken?: string },
    callback: Callback<{ uri: string }>,
  ): void;
  getSnapshotUri(options: { profileToken?: string }, callback: Callback<{ uri: string }>): void;
  getEventProperties(callback: Callback<Record<string, unknown>>): void;
  getSystemDateAndTime(callback: Callback<Date>): void;
  /** The client's own subscription: no filter, InitialTerminationTime PT2M. */
  createPullPointSubscription(
    callback: Callback<{ subscriptionReference: { address: { href: string } }; terminationTime: Date }>,
  ): void;
  unsubscribe(callback: Callback<unknown>): void;
}

interface OnvifModule {
  Cam: new (options: CamOptions, callback?: Callback<unknown>) => Cam;
  Discovery: NodeJS.EventEmitter & {
    probe(options: { timeout?: number; resolve?: boolean }, callback: Callback<Cam[]>): void;
  };
}

export const onvif = createRequire(import.meta.url)('onvif') as OnvifModule;

/** Calls a callback-style Cam method as a promise. */
export function call<T>(run: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));
}

/** A Cam that connected (GetSystemDateAndTime, GetServices, GetProfiles, GetVideoSources), or its error. */
export function connectedCam(options: CamOptions): Promise<Cam> {
  return new Promise((resolve, reject) => {
    const cam = new onvif.Cam({ autoconnect: false, timeout: 10_000, ...options });
    cam.connect((error) => (error ? reject(error) : resolve(cam)));
  });
}

/** While installed, UDP datagrams to 239.255.255.250:3702 go to `target` instead. Returns the uninstaller. */
export function redirectMulticastProbes(target: { address: string; port: number }): () => void {
  const original = dgram.createSocket;
  const patched = ((...args: Parameters<typeof dgram.createSocket>) => {
    const socket = original(...args);
    const send = socket.send.bind(socket) as (...sendArgs: unknown[]) => void;
    (socket as unknown as { send: (...sendArgs: unknown[]) => void }).send = (...sendArgs: unknown[]) => {
      // The client calls send(buffer, offset, length, port, address).
      if (sendArgs[3] === 3702 && sendArgs[4] === '239.255.255.250') {
        sendArgs[3] = target.port;
        sendArgs[4] = target.address;
      }
      send(...sendArgs);
    };
    return socket;
  }) as typeof dgram.createSocket;
  dgram.createSocket = patched;
  return () => {
    dgram.createSocket = original;
  };
}

/** One notification as the client hands it to 'event' listeners, reduced to what a consumer reads. */
export interface ReceivedNotification {
  topic: string;
  operation: string;
  source: Record<string, string>;
  data: Record<string, string>;
  atMs: number;
}

type SimpleItems = { $: { Name: string; Value: unknown } } | Array<{ $: { Name: string; Value: unknown } }>;

function items(list: SimpleItems | undefined): Record<string, string> {
  if (!list) return {};
  const all = Array.isArray(list) ? list : [list];
  return Object.fromEntries(all.map((item) => [item.$.Name, String(item.$.Value)]));
}

/** Reads the client's parsed NotificationMessage (xml2js via its linerase). */
export function readNotification(message: {
  topic: { _: string } | string;
  message: {
    message: {
      $: { PropertyOperation: string };
      source?: { simpleItem?: SimpleItems };
      data?: { simpleItem?: SimpleItems };
    };
  };
}): ReceivedNotification {
  const inner = message.message.message;
  return {
    topic: typeof message.topic === 'string' ? message.topic : message.topic._,
    operation: inner.$.PropertyOperation,
    source: items(inner.source?.simpleItem),
    data: items(inner.data?.simpleItem),
    atMs: performance.now(),
  };
}
