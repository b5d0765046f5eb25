/**
 * The server side of RTP over UDP: a pair of sockets on consecutive ports, the even one for RTP and the next for
 * RTCP (RFC 3550 §11), bound on the address the client reached us at.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { bareAddress } from '../../util/host.js';

export interface UdpPair {
  rtp: Socket;
  rtcp: Socket;
  ports: readonly [number, number];
  close(): void;
}

const ATTEMPTS = 32;

/** The address without the IPv4-mapped prefix, and the socket type it needs. */
export function plainAddress(address: string): { address: string; type: 'udp4' | 'udp6' } {
  const bare = bareAddress(address);
  return { address: bare, type: bare.includes(':') ? 'udp6' : 'udp4' };
}

export async function bindUdpPair(localAddress: string): Promise<UdpPair> {
  const { address, type } = plainAddress(localAddress);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const rtp = createSocket(type);
    const rtcp = createSocket(type);
    try {
      rtp.bind(0, address);
      await once(rtp, 'listening');
      const port = rtp.address().port;
      if (port % 2 !== 0 || port >= 65535) throw new Error('odd port');
      rtcp.bind(port + 1, address);
      await once(rtcp, 'listening');
      return {
        rtp,
        rtcp,
        ports: [port, port + 1],
        close: () => {
          rtp.close();
          rtcp.close();
        },
      };
    } catch {
      for (const socket of [rtp, rtcp]) {
        try {
          socket.close();
        } catch {
          // never bound
        }
      }
    }
  }
  throw new Error(`no pair of consecutive UDP ports free on ${address}`);
}
