import { describe, expect, it } from 'vitest';
import { senderReport } from '../../src/stream/h264/rtcp.js';
import { H264Packetizer, MAX_RTP_PAYLOAD, withParameterSets } from '../../src/stream/h264/rtp.js';
import { h264Sdp, profileLevelId } from '../../src/stream/h264/sdp.js';
import { depacketize, rtpHeader } from './helpers/rtp-depacketizer.js';

function nal(header: number, length: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  bytes[0] = header;
  return bytes;
}

const SPS = Buffer.from('6742c01e95a0280bfe5840', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');

describe('H264Packetizer', () => {
  it('sends small NAL units whole, one per packet, with the marker on the access unit last one', () => {
    const packetizer = new H264Packetizer({ ssrc: 0xdeadbeef, sequence: 65534, initialTimestamp: 1000 });
    const nals = [SPS, PPS, nal(0x65, 900)];
    const { packets, timestamp } = packetizer.packetize(nals, 0);
    expect(timestamp).toBe(1000);
    expect(packets.map((p) => rtpHeader(p))).toEqual([
      { version: 2, marker: false, payloadType: 96, sequence: 65534, timestamp: 1000, ssrc: 0xdeadbeef },
      { version: 2, marker: false, payloadType: 96, sequence: 65535, timestamp: 1000, ssrc: 0xdeadbeef },
      { version: 2, marker: true, payloadType: 96, sequence: 0, timestamp: 1000, ssrc: 0xdeadbeef },
    ]);
    expect(packets.map((p) => p.subarray(12))).toEqual(nals);
    expect(packetizer.nextSequence).toBe(1);
  });

  it('cuts a large NAL unit into FU-A fragments with start and end bits, NRI and type kept', () => {
    const packetizer = new H264Packetizer({ ssrc: 1, sequence: 0, initialTimestamp: 0 });
    const big = nal(0x65, 5000, 7); // NRI 3, IDR slice
    const { packets } = packetizer.packetize([big], 0);
    expect(packets.length).toBe(Math.ceil((big.length - 1) / (MAX_RTP_PAYLOAD - 2)));
    for (const [i, packet] of packets.entries()) {
      expect(packet.length - 12).toBeLessThanOrEqual(MAX_RTP_PAYLOAD);
      expect(packet[12]).toBe(0x60 | 28); // F=0, NRI=3, FU-A
      const fu = packet[13]!;
      expect(fu & 0x80, `start bit of ${i}`).toBe(i === 0 ? 0x80 : 0);
      expect(fu & 0x40, `end bit of ${i}`).toBe(i === packets.length - 1 ? 0x40 : 0);
      expect(fu & 0x20).toBe(0);
      expect(fu & 0x1f).toBe(5);
      expect(rtpHeader(packet).marker).toBe(i === packets.length - 1);
    }
  });

  it('round-trips access units of every size through a depacketizer', () => {
    const packetizer = new H264Packetizer({ ssrc: 9, sequence: 65000, initialTimestamp: 4_294_967_000 });
    const units = [
      [SPS, PPS, nal(0x65, 20_000, 3)],
      [nal(0x41, 1400, 4)],
      [nal(0x41, 1401, 5), nal(0x01, 10, 6)],
      [nal(0x41, 2 * 1398 + 1, 8)],
    ];
    const packets = units.flatMap((nals, i) => packetizer.packetize(nals, (i * 1000) / 15).packets);
    const back = depacketize(packets);
    expect(back.map((unit) => unit.nals)).toEqual(units);
    // 90 kHz from ptsMs, wrapping at 2^32.
    expect(back.map((unit) => unit.timestamp)).toEqual(
      [0, 6000, 12000, 18000].map((ticks) => (4_294_967_000 + ticks) % 2 ** 32),
    );
  });

  it('puts the parameter sets in front of a keyframe that lacks them', () => {
    const idr = nal(0x65, 50);
    expect(withParameterSets([idr], true, SPS, PPS)).toEqual([SPS, PPS, idr]);
    expect(withParameterSets([SPS, PPS, idr], true, SPS, PPS)).toEqual([SPS, PPS, idr]);
    const p = nal(0x41, 50);
    expect(withParameterSets([p], false, SPS, PPS)).toEqual([p]);
  });
});

describe('senderReport', () => {
  it('writes a sender report and a CNAME source description, each sized in 32-bit words', () => {
    const packet = senderReport({
      ssrc: 0x01020304,
      wallClockMs: Date.UTC(2026, 0, 1) + 500,
      rtpTimestamp: 123456,
      packetCount: 10,
      octetCount: 9999,
      cname: 'doorbell',
    });
    expect(packet[0]).toBe(0x80);
    expect(packet[1]).toBe(200);
    expect((packet.readUInt16BE(2) + 1) * 4).toBe(28);
    expect(packet.readUInt32BE(4)).toBe(0x01020304);
    expect(packet.readUInt32BE(8)).toBe(Date.UTC(2026, 0, 1) / 1000 + 2_208_988_800);
    expect(packet.readUInt32BE(12)).toBe(2 ** 31);
    expect(packet.readUInt32BE(16)).toBe(123456);
    expect(packet.readUInt32BE(20)).toBe(10);
    expect(packet.readUInt32BE(24)).toBe(9999);
    const sdes = packet.subarray(28);
    expect(sdes[0]).toBe(0x81);
    expect(sdes[1]).toBe(202);
    expect((sdes.readUInt16BE(2) + 1) * 4).toBe(sdes.length);
    expect(sdes.subarray(10, 10 + sdes[9]!).toString()).toBe('doorbell');
    expect(sdes[10 + sdes[9]!]).toBe(0);
  });
});

describe('h264Sdp', () => {
  it('describes one H.264 track with its parameter sets, size, rate and control', () => {
    expect(profileLevelId(SPS)).toBe('42C01E');
    const sdp = h264Sdp({
      sessionId: '42',
      serverAddress: '127.0.0.1',
      title: 'front-door',
      control: 'trackID=0',
      width: 640,
      height: 360,
      fps: 15,
      sps: SPS,
      pps: PPS,
    });
    expect(sdp.endsWith('\r\n')).toBe(true);
    const lines = sdp.trimEnd().split('\r\n');
    expect(lines[0]).toBe('v=0');
    expect(lines).toContain('o=- 42 1 IN IP4 127.0.0.1');
    expect(lines).toContain('m=video 0 RTP/AVP 96');
    expect(lines).toContain('a=rtpmap:96 H264/90000');
    expect(lines).toContain(
      `a=fmtp:96 packetization-mode=1;profile-level-id=42C01E;sprop-parameter-sets=${SPS.toString('base64')},${PPS.toString('base64')}`,
    );
    expect(lines).toContain('a=framerate:15');
    expect(lines).toContain('a=x-dimensions:640,360');
    expect(lines.at(-1)).toBe('a=control:trackID=0');
  });
});
