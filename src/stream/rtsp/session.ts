/**
 * One viewer's session: its state, its RTP stream (random SSRC, sequence and timestamp), and while it plays, its
 * subscription to the shared LiveVideo. Pictures go out through a MediaSink (interleaved on the RTSP connection or
 * UDP). A viewer that cannot keep up loses pictures until the next keyframe, and is closed if it stays stuck; it
 * never holds more than the sink's bound, and never slows the others.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../log/logger.js';
import { senderReport } from '../h264/rtcp.js';
import { H264Packetizer, withParameterSets } from '../h264/rtp.js';
import type { AccessUnit, LiveVideo, StreamInfo, Subscription } from '../live-video.js';
import { SessionState } from './session-state.js';

export interface MediaSink {
  readonly kind: 'tcp' | 'udp';
  /** The Transport header answering the SETUP. */
  transport(ssrc: number): string;
  /** More is waiting to go out than the bound allows: the next pictures would only pile up. */
  backlogged(): boolean;
  sendRtp(packets: readonly Buffer[]): void;
  sendRtcp(packet: Buffer): void;
  close(): void;
}

export interface SessionEnvironment {
  logger: Logger;
  now(): number;
  /** A viewer whose sink stays backlogged this long is closed. */
  stuckCloseMs: number;
  senderReportEveryMs: number;
  onFirstUnitSent?: ((event: { path: string; sincePlayMs: number }) => void) | undefined;
  /** Called once when the session ends for any reason. */
  onClosed(session: RtspSession, reason: string): void;
}

export class RtspSession {
  readonly id = randomBytes(8).toString('hex').toUpperCase();
  readonly state: SessionState;
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  readonly initialSequence = randomBytes(2).readUInt16BE(0);
  readonly initialTimestamp = randomBytes(4).readUInt32BE(0);
  private readonly packetizer: H264Packetizer;
  private subscription: Subscription | undefined;
  private info: StreamInfo | undefined;
  private waitingForKeyframe = true;
  private stuckSinceMs: number | undefined;
  private playStartedMs: number | undefined;
  private packetCount = 0;
  private octetCount = 0;
  private lastSent: { timestamp: number; atMs: number } | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly path: string,
    readonly trackUrl: string,
    private readonly live: LiveVideo,
    readonly sink: MediaSink,
    /** The RTSP connection that set it up: an interleaved session ends with it. */
    readonly owner: object,
    private readonly env: SessionEnvironment,
    timeoutMs: number,
  ) {
    this.state = new SessionState(env.now(), timeoutMs);
    this.packetizer = new H264Packetizer({
      ssrc: this.ssrc,
      sequence: this.initialSequence,
      initialTimestamp: this.initialTimestamp,
    });
  }

  /** The sequence number and RTP timestamp the next picture starts with (for RTP-Info). */
  get rtpInfo(): { seq: number; rtptime: number } {
    return {
      seq: this.packetizer.nextSequence,
      rtptime: this.lastSent ? this.lastSent.timestamp : this.initialTimestamp,
    };
  }

  /** Starts the flow of pictures (the first one is a keyframe); resolves once subscribed. */
  async play(): Promise<void> {
    this.playStartedMs = this.env.now();
    if (this.subscription || this.closed) return;
    this.waitingForKeyframe = true;
    const subscription = await this.live.subscribe((unit) => this.deliver(unit));
    if (this.closed) {
      subscription.unsubscribe();
      return;
    }
    this.subscription = subscription;
    this.info = subscription.info;
    this.reportTimer = setInterval(() => this.report(), this.env.senderReportEveryMs);
    this.reportTimer.unref();
  }

  pause(): void {
    this.stopFlow();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.state.close();
    this.stopFlow();
    this.sink.close();
    this.env.onClosed(this, reason);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private stopFlow(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    if (this.reportTimer) clearInterval(this.reportTimer);
    this.reportTimer = undefined;
  }

  private deliver(unit: AccessUnit): void {
    if (this.closed || this.state.phase !== 'playing') return;
    const now = this.env.now();
    if (this.sink.backlogged()) {
      this.stuckSinceMs ??= now;
      if (now - this.stuckSinceMs > this.env.stuckCloseMs) {
        this.env.logger.warn(
          { session: this.id, path: this.path },
          'rtsp viewer stopped reading; closing it',
        );
        this.close('stuck');
        return;
      }
      this.waitingForKeyframe = true;
      return;
    }
    this.stuckSinceMs = undefined;
    if (this.waitingForKeyframe && !unit.keyframe) return;
    this.waitingForKeyframe = false;
    const info = this.info ?? this.subscription?.info;
    const nals = info ? withParameterSets(unit.nals, unit.keyframe, info.sps, info.pps) : unit.nals;
    const packetized = this.packetizer.packetize(nals, unit.ptsMs);
    this.sink.sendRtp(packetized.packets);
    this.packetCount += packetized.packets.length;
    this.octetCount += packetized.payloadBytes;
    const first = this.lastSent === undefined;
    this.lastSent = { timestamp: packetized.timestamp, atMs: now };
    if (first) {
      this.report();
      if (this.playStartedMs !== undefined) {
        this.env.onFirstUnitSent?.({ path: this.path, sincePlayMs: now - this.playStartedMs });
      }
    }
  }

  private report(): void {
    if (!this.lastSent || this.closed) return;
    const now = this.env.now();
    const elapsedTicks = Math.round((now - this.lastSent.atMs) * 90);
    this.sink.sendRtcp(
      senderReport({
        ssrc: this.ssrc,
        wallClockMs: Date.now(),
        rtpTimestamp: (this.lastSent.timestamp + elapsedTicks) >>> 0,
        packetCount: this.packetCount,
        octetCount: this.octetCount,
        cname: `doorbell-${this.id.slice(0, 8).toLowerCase()}`,
      }),
    );
  }
}
