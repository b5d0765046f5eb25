import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsBucket } from '../storage/fs-bucket.js';
import { framesInWindow } from '../video/frame-runs.js';
import { type CameraSources, frameNearest } from './camera-sources.js';
import type { CameraTimeline } from './camera-timeline.js';
import { clipFidelity, describeFrames, frameName, MIN_THUMBNAIL_PSNR_DB, stillFidelity } from './fidelity.js';
import { clipLuma, jpegLuma } from './object-facts.js';
import type { ResolvedScenario } from './scenario.js';
import {
  countEvents,
  isStoredClipEvent,
  TAPE_VERSION,
  type TapeAction,
  type TapeLine,
  type TapeMessage,
  type TapeObject,
} from './tape.js';
import { decodedPayload, type Sniffed } from './wire-log.js';

/** What a finished run hands over to be written down. */
export interface TapeInputs {
  resolved: ResolvedScenario;
  epochMs: number;
  camera: { timeline: CameraTimeline; fps: number } | undefined;
  sources: CameraSources | undefined;
  sniffed: readonly Sniffed[];
  /** Each action, before the message it preceded on the wire. */
  actionLines: ReadonlyArray<{ seqInTape: number; line: TapeAction }>;
  bucket: FsBucket;
  /** Stored clips already being decoded, by key. */
  clipFrames: ReadonlyMap<string, ReturnType<typeof clipLuma>>;
  /** The camera frame each clip trigger happened at, by event id. */
  triggerFrames: ReadonlyMap<string, number>;
}

type StoredObject = TapeObject & { stored: { bytes: number; sha256: string } };
type ClipEventFacts = { key: string; sha256: string; bytes: number };

/**
 * The tape of a finished run: messages and actions in wire order, then every stored object with the camera frames
 * it should show and whether it does. Clip events that do not match their object become `problems`.
 */
export async function buildTape(inputs: TapeInputs, problems: string[]): Promise<TapeLine[]> {
  return new TapeBuilder(inputs, problems).build();
}

class TapeBuilder {
  constructor(
    private readonly inputs: TapeInputs,
    private readonly problems: string[],
  ) {}

  async build(): Promise<TapeLine[]> {
    const { resolved, camera, epochMs, sniffed, actionLines } = this.inputs;
    const { scenario } = resolved;
    const lines: TapeLine[] = [
      {
        tape: TAPE_VERSION,
        scenario: scenario.name,
        device: scenario.device.id,
        profile: resolved.profile.name,
        epoch: new Date(epochMs).toISOString(),
        durationMs: scenario.durationMs,
        seed: scenario.seed,
        fps: camera ? camera.fps : null,
        frames: camera ? camera.timeline.frameCount : 0,
      },
    ];
    const clipEvents: ClipEventFacts[] = [];
    const objectsPromise = this.objectLines();
    const messages = await Promise.all(sniffed.map((message) => this.messageLine(message, clipEvents)));
    let action = 0;
    for (let i = 0; i <= messages.length; i++) {
      while (action < actionLines.length && actionLines[action]!.seqInTape === i) {
        lines.push(actionLines[action++]!.line);
      }
      const message = messages[i];
      if (message) lines.push(message);
    }
    const objects = await objectsPromise;
    this.checkClipEvents(objects, clipEvents);
    lines.push(...objects);
    const counts = countEvents(lines);
    lines.push({ end: { t: scenario.durationMs, counts } });
    return lines;
  }

  private async messageLine(sniffed: Sniffed, clipEvents: ClipEventFacts[]): Promise<TapeMessage> {
    const { publish } = sniffed;
    const line: TapeMessage = {
      t: sniffed.t,
      mqtt: publish.topic,
      qos: publish.qos,
      retain: publish.retain,
      payload: null,
    };
    if (publish.dup) line.dup = true;
    if (sniffed.via) line.via = sniffed.via;
    if (publish.topic.endsWith('/snapshot')) {
      line.payload = {
        jpeg: await this.stillFacts(publish.payload, sniffed.snapshotFrame ?? -1).catch((error: Error) => ({
          error: error.message,
        })),
      };
      return line;
    }
    let payload = decodedPayload(publish.payload);
    if (isStoredClipEvent(publish.topic, payload)) {
      const clip = payload as Record<string, unknown>;
      clipEvents.push({
        key: String(clip['key']),
        sha256: String(clip['sha256']),
        bytes: Number(clip['bytes']),
      });
      // The MP4's bytes depend on the ffmpeg build (the object line carries what does not).
      payload = { ...clip, bytes: '*', sha256: '*' };
    }
    line.payload = payload;
    return line;
  }

  private async objectLines(): Promise<StoredObject[]> {
    const { bucket, triggerFrames, sources, epochMs } = this.inputs;
    const keys: Array<{ key: string; bytes: number }> = [];
    for await (const summary of bucket.list('')) keys.push(summary);
    return Promise.all(
      keys.map(async (summary) => {
        const head = await bucket.head(summary.key);
        const path = join(bucket.root, summary.key);
        const { sha256: storedSha, ...metadata } = head?.metadata ?? {};
        const line: TapeObject = { object: summary.key, metadata };
        if (summary.key.endsWith('.mp4')) {
          line['video'] = await this.clipFacts(summary.key, path, metadata);
        } else if (summary.key.endsWith('.jpg')) {
          // A continuation clip (event id "<trigger>-partN") is triggered where it starts.
          const triggerFrame =
            triggerFrames.get(metadata['event-id'] ?? '') ??
            frameNearest(sources, epochMs, metadata['started-at'] ?? '');
          line['picture'] = await this.stillFacts(await readFile(path), triggerFrame, MIN_THUMBNAIL_PSNR_DB);
        } else {
          const data = await readFile(path);
          line['bytes'] = data.length;
          line['sha256'] = createHash('sha256').update(data).digest('hex');
        }
        return Object.assign(line, {
          stored: { bytes: summary.bytes, sha256: storedSha ?? head?.sha256 ?? '' },
        });
      }),
    );
  }

  /**
   * A stored clip as the tape states it: its size, frame count, the camera frames its window holds (from its
   * metadata's started-at/ended-at, on the timeline the runner played) and whether it shows them (fidelity.ts).
   */
  private async clipFacts(key: string, path: string, metadata: Record<string, string>) {
    const { sources, epochMs, clipFrames } = this.inputs;
    if (!sources) return { error: 'a clip, but the scenario has no camera' };
    const decoded = await (clipFrames.get(key) ?? clipLuma(path, sources.size));
    const startMs = Date.parse(metadata['started-at'] ?? '') - epochMs;
    const endMs = Date.parse(metadata['ended-at'] ?? '') - epochMs;
    const { first, end } = framesInWindow(sources.fps, sources.timeline.frameCount, startMs, endMs);
    if (!(end > first)) return { error: `window [${startMs}, ${endMs}) ms holds no camera frame` };
    return {
      width: decoded.width,
      height: decoded.height,
      frames: decoded.frames.length,
      source: describeFrames(sources.timeline, first, end),
      fidelity: clipFidelity(decoded.frames, sources.timeline, first, end - first, sources.mask, {
        source: sources.fps,
        clip: decoded.fps,
      }),
    };
  }

  /** A JPEG (snapshot or thumbnail) as the tape states it: its size, the camera frame it shows, and whether it does. */
  private async stillFacts(data: Buffer, frame: number, minPsnrDb?: number) {
    const { sources } = this.inputs;
    if (!sources) return { error: 'a picture, but the scenario has no camera' };
    const still = await jpegLuma(data, sources.size);
    if (frame < 0) return { width: still.width, height: still.height, error: 'taken before the first frame' };
    return {
      width: still.width,
      height: still.height,
      source: frameName(sources.timeline, frame),
      fidelity: stillFidelity(still.luma, sources.timeline, frame, {
        ...(minPsnrDb === undefined ? {} : { minPsnrDb }),
        ...(sources.mask ? { mask: sources.mask } : {}),
      }),
    };
  }

  /** A clip event must name an object the bucket holds, with its size and checksum. */
  private checkClipEvents(objects: StoredObject[], clipEvents: ClipEventFacts[]): void {
    for (const event of clipEvents) {
      const object = objects.find((o) => o.object === event.key);
      if (!object) {
        this.problems.push(`clip event for ${event.key}, but the bucket has no such object`);
      } else if (object.stored.sha256 !== event.sha256 || object.stored.bytes !== event.bytes) {
        this.problems.push(
          `clip event for ${event.key} says ${event.bytes} bytes / ${event.sha256.slice(0, 12)}…, the bucket holds ${object.stored.bytes} bytes / ${object.stored.sha256.slice(0, 12)}…`,
        );
      }
    }
    for (const object of objects) delete (object as Partial<typeof object>).stored;
  }
}
