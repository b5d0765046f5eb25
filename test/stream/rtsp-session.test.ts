import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import type { AccessUnit, LiveVideo, StreamInfo } from '../../src/stream/live-video.js';
import { type MediaSink, RtspSession } from '../../src/stream/rtsp/session.js';
import { depacketize, rtpHeader } from './helpers/rtp-depacketizer.js';

const SPS = Buffer.from('6742c01e95a0280bfe5840', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');
const INFO: StreamInfo = { name: 'main', width: 640, height: 360, fps: 15, sps: SPS, pps: PPS };

class FakeLive implements LiveVideo {
  onUnit: ((unit: AccessUnit) => void) | undefined;
  async subscribe(onUnit: (unit: AccessUnit) => void) {
    this.onUnit = onUnit;
    return { info: INFO, unsubscribe: () => (this.onUnit = undefined) };
  }
}

class FakeSink implements MediaSink {
  readonly kind = 'tcp';
  rtp: Buffer[] = [];
  rtcp: Buffer[] = [];
  full = false;
  closed = false;
  transport = () => 'RTP/AVP/TCP;interleaved=0-1';
  backlogged = () => this.full;
  sendRtp(packets: readonly Buffer[]) {
    this.rtp.push(...packets);
  }
  sendRtcp(packet: Buffer) {
    this.rtcp.push(packet);
  }
  close() {
    this.closed = true;
  }
}

let frame = 0;
function unit(keyframe: boolean, withParameterSets = false): AccessUnit {
  const slice = Buffer.from([keyframe ? 0x65 : 0x41, 0x88, frame & 0xff, 7, 7, 7]);
  const ptsMs = (frame++ * 1000) / 15;
  return { nals: withParameterSets ? [SPS, PPS, slice] : [slice], keyframe, ptsMs, feedMs: ptsMs };
}

async function playing() {
  let now = 1_000;
  const live = new FakeLive();
  const sink = new FakeSink();
  const closedFor: string[] = [];
  const firstUnit: number[] = [];
  const session = new RtspSession(
    '/front-door',
    'rtsp://h/front-door/trackID=0',
    live,
    sink,
    {},
    {
      logger: silentLogger(),
      now: () => now,
      stuckCloseMs: 2_000,
      senderReportEveryMs: 5_000,
      onFirstUnitSent: (event) => firstUnit.push(event.sincePlayMs),
      onClosed: (_session, reason) => closedFor.push(reason),
    },
    60_000,
  );
  const rtpInfo = session.rtpInfo;
  expect(session.state.apply('PLAY', now).ok).toBe(true);
  await session.play();
  const send = (u: AccessUnit, afterMs = 0): void => {
    now += afterMs;
    live.onUnit?.(u);
  };
  return { session, live, sink, closedFor, firstUnit, rtpInfo, send };
}

describe('RtspSession', () => {
  it('starts at a keyframe with its parameter sets, where RTP-Info said, and reports once it sent', async () => {
    const { sink, firstUnit, rtpInfo, send } = await playing();
    send(unit(false), 10);
    expect(sink.rtp).toEqual([]);
    send(unit(true), 5);
    send(unit(false));
    const units = depacketize(sink.rtp);
    expect(units.map((u) => u.nals.map((nal) => nal[0]! & 0x1f))).toEqual([[7, 8, 5], [1]]);
    expect(rtpHeader(sink.rtp[0]!)).toMatchObject({ sequence: rtpInfo.seq, timestamp: rtpInfo.rtptime });
    expect(units[1]!.timestamp - units[0]!.timestamp).toBe(6000);
    expect(firstUnit).toEqual([15]);
    expect(sink.rtcp).toHaveLength(1);
    expect(sink.rtcp[0]![1]).toBe(200);
  });

  it('drops pictures while its sink is backlogged, then resumes at the next keyframe with no sequence gap', async () => {
    const { sink, send, closedFor } = await playing();
    send(unit(true, true));
    send(unit(false));
    sink.full = true;
    send(unit(false), 100);
    send(unit(true, true), 100);
    sink.full = false;
    send(unit(false), 100);
    send(unit(false), 100);
    expect(depacketize(sink.rtp)).toHaveLength(2);
    send(unit(true, true), 100);
    send(unit(false), 100);
    const units = depacketize(sink.rtp); // throws on a sequence gap
    expect(units.map((u) => u.nals.some((nal) => (nal[0]! & 0x1f) === 5))).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect(closedFor).toEqual([]);
  });

  it('closes a viewer that stays backlogged past the limit, and lets its subscription go', async () => {
    const { session, live, sink, send, closedFor } = await playing();
    send(unit(true, true));
    sink.full = true;
    send(unit(false), 1_000);
    send(unit(false), 1_000);
    expect(closedFor).toEqual([]);
    send(unit(false), 1_001);
    expect(closedFor).toEqual(['stuck']);
    expect(session.isClosed).toBe(true);
    expect(live.onUnit).toBeUndefined();
    expect(sink.closed).toBe(true);
    session.close('again');
    expect(closedFor).toEqual(['stuck']);
  });

  it('unsubscribes on PAUSE and on close', async () => {
    const { session, live } = await playing();
    expect(live.onUnit).toBeDefined();
    session.pause();
    expect(live.onUnit).toBeUndefined();
    expect(session.state.apply('PLAY', 2_000).ok).toBe(true);
    await session.play();
    expect(live.onUnit).toBeDefined();
    session.close('teardown');
    expect(live.onUnit).toBeUndefined();
  });
});
