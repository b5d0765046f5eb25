/** What the ONVIF services answer from: the device's description, its streams and the URLs as one client sees them. */
import type { StreamSpec } from '../stream/device-streams.js';
import type { StreamName } from '../stream/live-video.js';
import type { SoapRequest, Xml } from './soap.js';

export interface OnvifDeviceInfo {
  deviceId: string;
  manufacturer: string;
  model: string;
  firmwareVersion: string;
}

/** Where each service is reached: paths on the ONVIF HTTP server. */
export const SERVICE_PATHS = {
  device: '/onvif/device_service',
  media: '/onvif/media_service',
  events: '/onvif/events_service',
  /** A pull point's address is this prefix and the subscription id. */
  pullPoint: '/onvif/pull_point/',
} as const;

export type ServiceName = Exclude<keyof typeof SERVICE_PATHS, 'pullPoint'>;

export interface ServiceContext {
  device: OnvifDeviceInfo;
  streams: Record<StreamName, StreamSpec>;
  /** http://HOST:PORT of the ONVIF server, as the client reached it. */
  origin: string;
  /** The device's endpoint reference (urn:uuid:…), the same as WS-Discovery announces. */
  endpoint: string;
  now: number;
  /** The RTSP URLs, with the host the client reached; undefined when the agent serves no RTSP. */
  rtspUris: Record<StreamName, string> | undefined;
  /** The HTTP snapshot URL (the console's); undefined when no console runs. */
  snapshotUri: string | undefined;
  /** Aborted when the client goes away (a long PullMessages stops waiting). */
  closed: AbortSignal;
}

/** One SOAP operation: its response body, or a thrown SoapFault. */
export type Operation = (request: SoapRequest, context: ServiceContext) => Xml | Promise<Xml>;

export type OperationTable = Record<string, Operation>;

/** Operations a client may call before it authenticates (ONVIF Core's PRE_AUTH class). */
export const PRE_AUTH_OPERATIONS: ReadonlySet<string> = new Set([
  'GetSystemDateAndTime',
  'GetServices',
  'GetServiceCapabilities',
  'GetCapabilities',
  'GetHostname',
  'GetWsdlUrl',
  'GetEndpointReference',
]);
