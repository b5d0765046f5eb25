/**
 * A LiveVideo for tests: a fixture encoded once to H.264 (libx264 ultrafast, a keyframe every second), served in a
 * loop at its frame rate with increasing ptsMs. Like the real encoder it runs only while someone subscribes, and a
 * new subscriber first gets the current group of pictures, starting at its keyframe.
 */
import { fileURLToPath } from 'node:url';
import {
  AccessUnitAssembler,
  AnnexBSplitter,
  isKeyframe,
  NAL_TYPE,
  nalType,
} from '../../../src/stream/h264/annex-b.js';
import type { AccessUnit, LiveVideo, StreamInfo, Subscription } from '../../../src/stream/live-video.js';
import { command, runToStdout } from '../../../src/video/ffmpeg/process.js';

const NAL_TYPE_FILLER = 12;

export const PORCH_LOOP = fileURLToPath(new URL('../../../fixtures/video/porch-loop.mp4', import.meta.url));

export interface EncodedFixture {
  info: StreamInfo;
  units: { nals: Buffer[]; keyframe: boolean }[];
}

/** The first `seconds` of a fixture as access units (the fixture is 640x360 at 15 fps). */
export async function encodeFixture(input = PORCH_LOOP, seconds = 4, fps = 15): Promise<EncodedFixture> {
  const cmd = command(input).outputOptions([
    ...['-t', String(seconds), '-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency'],
    ...['-g', String(fps), '-keyint_min', String(fps), '-bf', '0', '-threads', '1'],
    ...['-x264-params', 'repeat-headers=1', '-pix_fmt', 'yuv420p', '-f', 'h264'],
  ]);
  const chunks: Buffer[] = [];
  await runToStdout(cmd, `cannot encode ${input}`, input, (chunk) => chunks.push(chunk), 60_000);
  const splitter = new AnnexBSplitter();
  const assembler = new AccessUnitAssembler();
  const nals = [...splitter.push(Buffer.concat(chunks)), ...splitter.flush()];
  const pictures = [...nals.flatMap((nal) => assembler.push(nal)), ...assembler.flush()];
  const sps = nals.find((nal) => nalType(nal) === NAL_TYPE.sps);
  const pps = nals.find((nal) => nalType(nal) === NAL_TYPE.pps);
  if (!sps || !pps || pictures.length === 0 || !isKeyframe(pictures[0]!)) {
    throw new Error(`encoding ${input} gave no usable H.264`);
  }
  return {
    info: { name: 'main', width: 640, height: 360, fps, sps, pps },
    units: pictures.map((picture) => ({ nals: picture, keyframe: isKeyframe(picture) })),
  };
}

export class FixtureLiveVideo implements LiveVideo {
  /** How many times the "encoder" started (first subscriber after none). */
  starts = 0;
  private readonly subscribers = new Set<(unit: AccessUnit) => void>();
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private sent = 0;
  private startedAtMs = 0;
  private gop: AccessUnit[] = [];

  private readonly filler: Buffer | undefined;

  /** `fillerBytes` adds a filler-data NAL unit (type 12, ignored by decoders) to every picture: a heavy stream. */
  constructor(
    private readonly fixture: EncodedFixture,
    fillerBytes = 0,
  ) {
    if (fillerBytes > 0) {
      this.filler = Buffer.alloc(fillerBytes, 0xff);
      this.filler[0] = NAL_TYPE_FILLER;
      this.filler[fillerBytes - 1] = 0x80;
    }
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  async subscribe(onUnit: (unit: AccessUnit) => void): Promise<Subscription> {
    this.subscribers.add(onUnit);
    if (!this.timer) this.start();
    const replay = [...this.gop];
    setImmediate(() => {
      for (const unit of replay) if (this.subscribers.has(onUnit)) onUnit(unit);
    });
    return {
      info: this.fixture.info,
      unsubscribe: () => {
        this.subscribers.delete(onUnit);
        if (this.subscribers.size === 0) this.stop();
      },
    };
  }

  private start(): void {
    this.starts++;
    this.startedAtMs = performance.now();
    this.sent = 0;
    this.next = 0;
    this.gop = [];
    this.tick();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const frameMs = 1000 / this.fixture.info.fps;
    const source = this.fixture.units[this.next]!;
    this.next = (this.next + 1) % this.fixture.units.length;
    const ptsMs = this.sent * frameMs;
    const nals = this.filler ? [...source.nals, this.filler] : source.nals;
    const unit: AccessUnit = { nals, keyframe: source.keyframe, ptsMs, feedMs: ptsMs };
    this.sent++;
    if (unit.keyframe) this.gop = [];
    this.gop.push(unit);
    for (const subscriber of [...this.subscribers]) subscriber(unit);
    if (this.subscribers.size === 0) return;
    const due = this.startedAtMs + this.sent * frameMs;
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - performance.now()));
  }
}
