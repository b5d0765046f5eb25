/**
 * RTCP sender reports (RFC 3550 §6.4.1): they tie a stream's RTP timestamps to wall-clock time, which receivers such
 * as ffmpeg use to place the first picture. Pure: the wall-clock time is passed in.
 */

const RTCP_VERSION = 2;
const SENDER_REPORT = 200;
const SOURCE_DESCRIPTION = 202;
const CNAME_ITEM = 1;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

export interface SenderReport {
  ssrc: number;
  /** Wall-clock time of the report, ms since the Unix epoch. */
  wallClockMs: number;
  /** The RTP timestamp that corresponds to `wallClockMs`. */
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  cname: string;
}

/** A compound RTCP packet: the sender report, then the source description with its CNAME (required by §6.1). */
export function senderReport(report: SenderReport): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = RTCP_VERSION << 6;
  sr[1] = SENDER_REPORT;
  sr.writeUInt16BE(sr.length / 4 - 1, 2);
  sr.writeUInt32BE(report.ssrc >>> 0, 4);
  const seconds = Math.floor(report.wallClockMs / 1000);
  const fraction = Math.floor(((report.wallClockMs - seconds * 1000) / 1000) * 2 ** 32);
  sr.writeUInt32BE((seconds + NTP_UNIX_OFFSET_S) >>> 0, 8);
  sr.writeUInt32BE(Math.min(fraction, 2 ** 32 - 1) >>> 0, 12);
  sr.writeUInt32BE(report.rtpTimestamp >>> 0, 16);
  sr.writeUInt32BE(report.packetCount >>> 0, 20);
  sr.writeUInt32BE(report.octetCount >>> 0, 24);

  const cname = Buffer.from(report.cname.slice(0, 255), 'utf8');
  // Header, SSRC, the CNAME item (type, length, text), then at least one zero byte ending the list, to a 4-byte edge.
  const unpadded = 4 + 4 + 2 + cname.length + 1;
  const sdes = Buffer.alloc(Math.ceil(unpadded / 4) * 4);
  sdes[0] = (RTCP_VERSION << 6) | 1;
  sdes[1] = SOURCE_DESCRIPTION;
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2);
  sdes.writeUInt32BE(report.ssrc >>> 0, 4);
  sdes[8] = CNAME_ITEM;
  sdes[9] = cname.length;
  cname.copy(sdes, 10);
  return Buffer.concat([sr, sdes]);
}
