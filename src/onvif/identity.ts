/** Who the device is to ONVIF clients: stable names derived from the device id, so an NVR recognises it after a restart. Pure. */
import { createHash } from 'node:crypto';
import type { OnvifDeviceInfo } from './service-context.js';

function digestOf(deviceId: string): Buffer {
  return createHash('sha1').update(`virtual-doorbell:${deviceId}`).digest();
}

/** urn:uuid:… — a name-based (version 5 style) UUID of the device id: WS-Discovery's endpoint address. */
export function endpointReferenceOf(deviceId: string): string {
  const bytes = digestOf(deviceId).subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A locally administered MAC address for the simulated network interface (Home Assistant keys ONVIF devices by the
 * MAC that GetNetworkInterfaces reports).
 */
export function macAddressOf(deviceId: string): string {
  const bytes = digestOf(deviceId).subarray(10, 16);
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/** The ONVIF scopes: a Profile S video encoder, named by model, manufacturer and device id. */
export function scopesOf(device: OnvifDeviceInfo): string[] {
  const scope = (kind: string, value: string) => `onvif://www.onvif.org/${kind}/${encodeURIComponent(value)}`;
  return [
    'onvif://www.onvif.org/type/video_encoder',
    'onvif://www.onvif.org/type/NetworkVideoTransmitter',
    'onvif://www.onvif.org/Profile/Streaming',
    scope('name', `${device.manufacturer} ${device.model}`),
    scope('hardware', device.model),
    scope('location', device.deviceId),
  ];
}
