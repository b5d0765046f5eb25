/** Test side of RFC 6184: RTP packets back into NAL units, checking the sequence and FU-A framing as it goes. */

export interface RtpHeader {
  version: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
}

export function rtpHeader(packet: Buffer): RtpHeader {
  return {
    version: packet[0]! >> 6,
    marker: (packet[1]! & 0x80) !== 0,
    payloadType: packet[1]! & 0x7f,
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
  };
}

/** The access units (NAL lists ended by a marker bit) carried by `packets`; throws on broken framing. */
export function depacketize(packets: readonly Buffer[]): { nals: Buffer[]; timestamp: number }[] {
  const units: { nals: Buffer[]; timestamp: number }[] = [];
  let current: Buffer[] = [];
  let fragments: Buffer[] | undefined;
  let previous: number | undefined;
  for (const packet of packets) {
    const header = rtpHeader(packet);
    if (previous !== undefined && header.sequence !== ((previous + 1) & 0xffff))
      throw new Error('sequence gap');
    previous = header.sequence;
    const payload = packet.subarray(12);
    const type = payload[0]! & 0x1f;
    if (type === 28) {
      const fu = payload[1]!;
      if (fu & 0x80) {
        if (fragments) throw new Error('FU-A start inside a fragmented unit');
        fragments = [Buffer.from([(payload[0]! & 0xe0) | (fu & 0x1f)])];
      } else if (!fragments) {
        throw new Error('FU-A continuation without a start');
      }
      fragments.push(payload.subarray(2));
      if (fu & 0x40) {
        current.push(Buffer.concat(fragments));
        fragments = undefined;
      }
    } else if (type >= 1 && type <= 23) {
      if (fragments) throw new Error('single NAL packet inside a fragmented unit');
      current.push(Buffer.from(payload));
    } else {
      throw new Error(`unexpected payload type ${type}`);
    }
    if (header.marker) {
      if (fragments) throw new Error('marker inside a fragmented unit');
      units.push({ nals: current, timestamp: header.timestamp });
      current = [];
    }
  }
  return units;
}
