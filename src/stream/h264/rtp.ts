/**
 * RTP (RFC 3550) packets carrying H.264 (RFC 6184, packetization-mode=1): a NAL unit that fits goes whole in one
 * packet, a larger one is cut into FU-A fragments. Pure: access units in, packets out.
 */
import { NAL_TYPE, nalType } from './annex-b.js';

export const H264_PAYLOAD_TYPE = 96;
export const H264_CLOCK_RATE = 90_000;
/** Payload bytes per packet: under a 1500-byte Ethernet MTU with IP, UDP and RTP headers to spare. */
export const MAX_RTP_PAYLOAD = 1400;

const RTP_VERSION = 2;
const RTP_HEADER_BYTES = 12;
const FU_A_TYPE = 28;

export interface RtpStreamState {
  ssrc: number;
  /** Sequence number of the next packet (16 bits, wraps). */
  sequence: number;
  /** RTP timestamp of the first access unit sent; later ones add their ptsMs distance at 90 kHz. */
  initialTimestamp: number;
}

export interface PacketizedUnit {
  packets: Buffer[];
  timestamp: number;
  payloadBytes: number;
}

export class H264Packetizer {
  private sequence: number;
  private firstPtsMs: number | undefined;

  constructor(
    private readonly state: RtpStreamState,
    private readonly maxPayload = MAX_RTP_PAYLOAD,
    private readonly payloadType = H264_PAYLOAD_TYPE,
  ) {
    this.sequence = state.sequence & 0xffff;
  }

  get nextSequence(): number {
    return this.sequence;
  }

  get ssrc(): number {
    return this.state.ssrc;
  }

  /** The RTP timestamp of a picture shown at `ptsMs` (the first one packetized maps to the initial timestamp). */
  timestampFor(ptsMs: number): number {
    const first = this.firstPtsMs ?? ptsMs;
    return (this.state.initialTimestamp + Math.round(((ptsMs - first) * H264_CLOCK_RATE) / 1000)) >>> 0;
  }

  /** One access unit's packets; the marker bit is set on its last packet. */
  packetize(nals: readonly Buffer[], ptsMs: number): PacketizedUnit {
    if (this.firstPtsMs === undefined) this.firstPtsMs = ptsMs;
    const timestamp = this.timestampFor(ptsMs);
    const payloads: Buffer[][] = [];
    for (const nal of nals) {
      if (nal.length === 0) continue;
      if (nal.length <= this.maxPayload) payloads.push([nal]);
      else payloads.push(...fragment(nal, this.maxPayload));
    }
    let payloadBytes = 0;
    const packets = payloads.map((parts, index) => {
      const header = this.header(timestamp, index === payloads.length - 1);
      const packet = Buffer.concat([header, ...parts]);
      payloadBytes += packet.length - RTP_HEADER_BYTES;
      return packet;
    });
    return { packets, timestamp, payloadBytes };
  }

  private header(timestamp: number, marker: boolean): Buffer {
    const header = Buffer.alloc(RTP_HEADER_BYTES);
    header[0] = RTP_VERSION << 6;
    header[1] = (marker ? 0x80 : 0) | (this.payloadType & 0x7f);
    header.writeUInt16BE(this.sequence, 2);
    header.writeUInt32BE(timestamp, 4);
    header.writeUInt32BE(this.state.ssrc >>> 0, 8);
    this.sequence = (this.sequence + 1) & 0xffff;
    return header;
  }
}

/** FU-A fragments (RFC 6184 §5.8): the indicator keeps F and NRI, the header the start/end bits and the type. */
function fragment(nal: Buffer, maxPayload: number): Buffer[][] {
  const indicator = (nal[0]! & 0xe0) | FU_A_TYPE;
  const type = nalType(nal);
  const chunk = maxPayload - 2;
  const fragments: Buffer[][] = [];
  for (let from = 1; from < nal.length; from += chunk) {
    const to = Math.min(nal.length, from + chunk);
    const fuHeader = (from === 1 ? 0x80 : 0) | (to === nal.length ? 0x40 : 0) | type;
    fragments.push([Buffer.from([indicator, fuHeader]), nal.subarray(from, to)]);
  }
  return fragments;
}

/**
 * The NAL units to send for a picture: a keyframe always carries its SPS and PPS in-band too, so a viewer that lost
 * the SDP's parameter sets (or joins after a drop) can start decoding there.
 */
export function withParameterSets(
  nals: readonly Buffer[],
  keyframe: boolean,
  sps: Buffer,
  pps: Buffer,
): Buffer[] {
  if (!keyframe) return [...nals];
  const hasSps = nals.some((nal) => nalType(nal) === NAL_TYPE.sps);
  const hasPps = nals.some((nal) => nalType(nal) === NAL_TYPE.pps);
  if (hasSps && hasPps) return [...nals];
  const rest = nals.filter((nal) => nalType(nal) !== NAL_TYPE.sps && nalType(nal) !== NAL_TYPE.pps);
  return [sps, pps, ...rest];
}
