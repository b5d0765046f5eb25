/**
 * The session description (RFC 4566) a DESCRIBE answers with, for one H.264 video track (RFC 6184 §8.1): the
 * parameter sets travel in sprop-parameter-sets so a client can set up its decoder before the first packet.
 */
import { H264_CLOCK_RATE, H264_PAYLOAD_TYPE } from './rtp.js';

export interface H264SdpOptions {
  /** Origin session id: any number unique to this server's descriptions. */
  sessionId: string;
  /** The address the server answered on, for the origin line. */
  serverAddress: string;
  title: string;
  /** The track's control URL, relative to the Content-Base (e.g. "trackID=0"). */
  control: string;
  width: number;
  height: number;
  fps: number;
  sps: Buffer;
  pps: Buffer;
}

/** profile_idc, constraint flags and level_idc: the three bytes after the SPS's NAL header, as hex. */
export function profileLevelId(sps: Buffer): string {
  if (sps.length < 4) throw new Error('an SPS has at least 4 bytes');
  return sps.subarray(1, 4).toString('hex').toUpperCase();
}

export function h264Sdp(options: H264SdpOptions): string {
  const family = options.serverAddress.includes(':') ? 'IP6' : 'IP4';
  const pt = H264_PAYLOAD_TYPE;
  const fmtp = [
    'packetization-mode=1',
    `profile-level-id=${profileLevelId(options.sps)}`,
    `sprop-parameter-sets=${options.sps.toString('base64')},${options.pps.toString('base64')}`,
  ].join(';');
  const lines = [
    'v=0',
    `o=- ${options.sessionId} 1 IN ${family} ${options.serverAddress}`,
    `s=${options.title.replace(/[\r\n]/g, ' ')}`,
    `c=IN ${family} ${family === 'IP6' ? '::' : '0.0.0.0'}`,
    't=0 0',
    'a=control:*',
    'a=range:npt=now-',
    `m=video 0 RTP/AVP ${pt}`,
    `a=rtpmap:${pt} H264/${H264_CLOCK_RATE}`,
    `a=fmtp:${pt} ${fmtp}`,
    `a=framerate:${options.fps}`,
    `a=x-dimensions:${options.width},${options.height}`,
    `a=control:${options.control}`,
  ];
  return `${lines.join('\r\n')}\r\n`;
}
