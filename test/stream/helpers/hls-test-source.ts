/**
 * A LiveVideo for the HLS tests until the agent's encoder serves one: a fixture encoded once with the located
 * ffmpeg (libx264 ultrafast, one keyframe a second, no B-frames), cut into access units with the project's own
 * splitter, then served paced at its fps in a loop. Feed time keeps growing across loops, like the camera feed's.
 */
import {
  AccessUnitAssembler,
  AnnexBSplitter,
  isKeyframe,
  NAL_TYPE,
  nalType,
} from '../../../src/stream/h264/annex-b.js';
import type { AccessUnit, LiveVideo, StreamInfo, Subscription } from '../../../src/stream/live-video.js';
import { command, runToStdout } from '../../../src/video/ffmpeg/process.js';

export interface EncodedFixture {
  info: StreamInfo;
  /** One loop of the fixture, first unit a keyframe. */
  units: Array<{ nals: Buffer[]; keyframe: boolean }>;
}

export async function encodeFixture(
  file: string,
  options: { width: number; height: number; fps: number },
): Promise<EncodedFixture> {
  const { width, height, fps } = options;
  const chunks: Buffer[] = [];
  const cmd = command(file).outputOptions([
    '-an',
    '-vf',
    `scale=${width}:${height},fps=${fps},format=yuv420p`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-g',
    String(fps),
    '-keyint_min',
    String(fps),
    '-sc_threshold',
    '0',
    '-bf',
    '0',
    '-f',
    'h264',
  ]);
  await runToStdout(cmd, 'encode HLS test fixture', file, (chunk) => chunks.push(chunk), 60_000);
  const splitter = new AnnexBSplitter();
  const assembler = new AccessUnitAssembler();
  const pictures: Buffer[][] = [];
  const stream = Buffer.concat(chunks);
  for (const nal of [...splitter.push(stream), ...splitter.flush()]) pictures.push(...assembler.push(nal));
  pictures.push(...assembler.flush());
  const all = pictures.flat();
  const sps = all.find((nal) => nalType(nal) === NAL_TYPE.sps);
  const pps = all.find((nal) => nalType(nal) === NAL_TYPE.pps);
  if (!sps || !pps) throw new Error(`${file}: the encoded stream has no SPS/PPS`);
  const units = pictures.map((nals) => ({ nals, keyframe: isKeyframe(nals) }));
  if (!units[0]?.keyframe) throw new Error(`${file}: the encoded stream does not start with a keyframe`);
  return { info: { name: 'main', width, height, fps, sps, pps }, units };
}

/** Serves an encoded fixture in a loop at its fps while anyone subscribes; tells the test each unit it sends. */
export class PacedTestVideo implements LiveVideo {
  private readonly listeners = new Set<(unit: AccessUnit) => void>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private sent = 0;
  private gop: AccessUnit[] = [];
  subscribes = 0;
  onSent: ((unit: AccessUnit, indexInLoop: number) => void) | undefined;

  constructor(private readonly encoded: EncodedFixture) {}

  get frameMs(): number {
    return 1000 / this.encoded.info.fps;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  async subscribe(onUnit: (unit: AccessUnit) => void): Promise<Subscription> {
    this.subscribes++;
    for (const unit of this.gop) onUnit(unit);
    this.listeners.add(onUnit);
    if (!this.timer) this.start();
    return {
      info: this.encoded.info,
      unsubscribe: () => {
        this.listeners.delete(onUnit);
        if (this.listeners.size === 0) this.stop();
      },
    };
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private start(): void {
    this.startedAt = performance.now();
    this.sent = 0;
    this.gop = [];
    this.tick();
  }

  /** Sends every unit that is due, then sleeps until the next one (no drift: due times come from the start). */
  private tick(): void {
    const { units } = this.encoded;
    while (this.sent * this.frameMs <= performance.now() - this.startedAt) {
      const index = this.sent % units.length;
      const source = units[index]!;
      const ms = this.sent * this.frameMs;
      const unit: AccessUnit = { nals: source.nals, keyframe: source.keyframe, ptsMs: ms, feedMs: ms };
      if (unit.keyframe) this.gop = [];
      this.gop.push(unit);
      this.sent++;
      for (const listener of this.listeners) listener(unit);
      this.onSent?.(unit, index);
    }
    if (this.listeners.size === 0) {
      this.timer = undefined;
      return;
    }
    const wait = this.sent * this.frameMs - (performance.now() - this.startedAt);
    this.timer = setTimeout(() => this.tick(), Math.max(1, wait));
  }
}
