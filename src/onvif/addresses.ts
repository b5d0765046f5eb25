/**
 * Which of this machine's addresses a client reaches: ONVIF hands out URLs (XAddrs, stream and snapshot URIs) that
 * an NVR must be able to open, so a server bound to every interface answers with the address the client came in on
 * rather than a machine name the NVR may not resolve.
 */
import { hostname, networkInterfaces } from 'node:os';
import { isLoopbackHost } from '../ui/access.js';
import { bareAddress, isWildcardHost } from '../util/host.js';

function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((value, part) => value * 256 + Number(part), 0);
}

/** This machine's IPv4 addresses, loopback included. */
export function ipv4InterfaceAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry !== undefined && entry.family === 'IPv4')
    .map((entry) => entry!.address);
}

/** The address of ours a datagram from `remote` most likely reached (same subnet), for a server bound to `bound`. */
export function addressFacing(remote: string, bound: string): string {
  if (!isWildcardHost(bound)) return bound;
  const peer = bareAddress(remote);
  if (isLoopbackHost(peer)) return '127.0.0.1';
  const candidates = Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(peer)) {
    const same = candidates.find((entry) => {
      const mask = ipv4ToNumber(entry!.netmask);
      return (ipv4ToNumber(entry!.address) & mask) === (ipv4ToNumber(peer) & mask);
    });
    if (same) return same.address;
  }
  return candidates[0]?.address ?? hostname();
}

/**
 * `url` as a client that reached us on `localAddress` should see it: a server announced by machine name (it was
 * bound to every interface, see ui/access.ts reachableHost) gets that address instead.
 */
export function urlForClient(url: string, localAddress: string): string {
  const parsed = new URL(url);
  if (parsed.hostname !== hostname()) return url;
  parsed.hostname = localAddress.includes(':') ? `[${localAddress}]` : localAddress;
  return parsed.toString();
}
