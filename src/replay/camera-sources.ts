import { basename, extname } from 'node:path';
import type { GroundTruth, MotionLabeller } from '../evaluation/ground-truth.js';
import { groundTruthBeside } from '../evaluation/reference-file.js';
import { type NormalizedPolygon, rasterizePolygons } from '../geometry/polygon.js';
import { cameraPicture } from '../video/camera-picture.js';
import type { PictureSize } from '../video/ffmpeg/picture.js';
import { probe } from '../video/ffmpeg/probe.js';
import { type FrameRunFeed, nearestFrameIndex } from '../video/frame-runs.js';
import { type LumaFixture, lumaFixture } from '../video/luma-frames.js';
import { CameraTimeline, timelineLabeller } from './camera-timeline.js';
import { COMPARISON_WIDTH, type CompareMask, compareMask, type SourceTimeline } from './fidelity.js';
import type { ComparisonSize } from './object-facts.js';
import type { ResolvedScenario } from './scenario.js';

/** What the camera showed, frame by frame, at the size the tape's pictures are checked at (fidelity.ts). */
export interface CameraSources {
  timeline: SourceTimeline;
  size: ComparisonSize;
  /** The starting profile's privacy zones (a `config` action that changes them is not followed). */
  mask: CompareMask | undefined;
  fps: number;
}

/** The scenario's camera: what it plays when, decoded at analysis size, and the frames pictures are checked against. */
export interface PreparedCamera {
  timeline: CameraTimeline;
  video: string;
  /** The frame runs the recorder cuts clips from; undefined for one looped file. */
  runs: FrameRunFeed | undefined;
  fixtures: Map<string, LumaFixture>;
  fps: number;
  sources: CameraSources;
  /** What moved when: the plays' declared labels, else the ground truth beside each video. */
  labels: MotionLabeller;
  /** Ground-truth files beside a video that could not be read as one (ignored: that video labels nothing). */
  labelProblems: string[];
}

/** Probes and decodes every video a scenario plays (undefined: the scenario has no camera). */
export async function prepareCamera(resolved: ResolvedScenario): Promise<PreparedCamera | undefined> {
  const { scenario } = resolved;
  if (!resolved.video) return undefined;
  const width = resolved.profile.profile.motion.analysisWidth;
  const unique = [...new Set([resolved.video, ...resolved.plays.values()])];
  const infos = await Promise.all(unique.map((path) => probe(path)));
  const base = infos[0]!;
  unique.forEach((path, i) => {
    const info = infos[i]!;
    if (Math.abs(info.fps - base.fps) > 1e-6 || info.width !== base.width || info.height !== base.height) {
      throw new Error(
        `${path}: every video of a scenario needs the size and frame rate of ${resolved.video} (${base.width}x${base.height} at ${base.fps} fps; got ${info.width}x${info.height} at ${info.fps} fps)`,
      );
    }
  });
  const plays = scenario.timeline.flatMap((action, i) =>
    action.do === 'play'
      ? [{ atMs: action.at, path: resolved.plays.get(i)!, loop: action.loop, labels: action.labels }]
      : [],
  );
  const frameCountOf = (i: number) =>
    infos[i]!.frameCount ?? Math.round((infos[i]!.durationMs * infos[i]!.fps) / 1000);
  const frameCounts = new Map(unique.map((path, i) => [path, frameCountOf(i)]));
  const timeline = new CameraTimeline(
    { path: resolved.video, frameCount: frameCounts.get(resolved.video)! },
    plays,
    1000 / base.fps,
    scenario.durationMs,
    frameCounts,
  );
  const decoded = await Promise.all(unique.map((path) => lumaFixture(path, width)));
  const fixtures = new Map(unique.map((path, i) => [path, decoded[i]!]));
  for (const [path, fixture] of fixtures) {
    if (fixture.frames.length !== frameCounts.get(path)) {
      throw new Error(
        `${path}: the container says ${frameCounts.get(path)} frames, decoding gave ${fixture.frames.length}`,
      );
    }
  }
  const sourceFixtures = await Promise.all(
    unique.map(async (path) => [path, await lumaFixture(path, COMPARISON_WIDTH)] as const),
  );
  const sources = cameraSources(
    timeline,
    new Map(sourceFixtures),
    resolved.profile.profile.privacy.zones,
    base.fps,
    cameraPicture(resolved.profile.profile),
  );
  // One looped file needs nothing more; otherwise the recorder cuts clips from the timeline's frame runs.
  const runs =
    timeline.singleFile && plays.length === 0 ? undefined : { runs: timeline.segments, fps: base.fps };
  const truths = new Map<string, GroundTruth>();
  const labelProblems: string[] = [];
  for (const path of unique) {
    const found = await groundTruthBeside(path);
    if (found && 'truth' in found) truths.set(path, found.truth);
    else if (found) labelProblems.push(found.problem);
  }
  const labels = timelineLabeller(timeline, truths);
  return { timeline, video: resolved.video, runs, fixtures, fps: base.fps, sources, labels, labelProblems };
}

function cameraSources(
  timeline: CameraTimeline,
  fixtures: ReadonlyMap<string, LumaFixture>,
  zones: ReadonlyArray<{ polygon: NormalizedPolygon }>,
  fps: number,
  camera: PictureSize,
): CameraSources {
  const first = fixtures.values().next().value as LumaFixture;
  const shown = shownRegion(first, camera);
  const size = { width: shown.width, height: shown.height };
  const crops = new Map<Uint8Array, Uint8Array>();
  const framed = (frame: Uint8Array) => {
    if (shown.width === first.width && shown.height === first.height) return frame;
    let crop = crops.get(frame);
    if (!crop) {
      crop = cropLuma(frame, first.width, shown);
      crops.set(frame, crop);
    }
    return crop;
  };
  const names = new Map([...fixtures.keys()].map((path) => [path, basename(path, extname(path))]));
  const zoneRaster = rasterizePolygons(
    size.width,
    size.height,
    zones.map((zone) => zone.polygon),
  );
  return {
    timeline: {
      frameCount: timeline.frameCount,
      luma: (k) => {
        const at = timeline.frameAt(k);
        return framed(fixtures.get(at.path)!.frames[at.index] as Uint8Array);
      },
      frame: (k) => {
        const shown = timeline.frameAt(k);
        return { file: names.get(shown.path)!, index: shown.index };
      },
    },
    size,
    mask: zones.length > 0 ? compareMask(zoneRaster, size.width, size.height) : undefined,
    fps,
  };
}

/**
 * The part of the comparison-size source a camera of this proportion shows: the centre crop cameraFramingFilter makes
 * (scale to cover, crop about the centre), at the comparison scale; even sizes, as the decoder scales clips to it.
 */
export function shownRegion(
  source: PictureSize,
  camera: PictureSize,
): PictureSize & { x: number; y: number } {
  const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
  const width = Math.min(source.width, even((source.height * camera.width) / camera.height));
  const height = Math.min(source.height, even((source.width * camera.height) / camera.width));
  return {
    width,
    height,
    x: Math.floor((source.width - width) / 2),
    y: Math.floor((source.height - height) / 2),
  };
}

function cropLuma(frame: Uint8Array, frameWidth: number, region: PictureSize & { x: number; y: number }) {
  const out = new Uint8Array(region.width * region.height);
  for (let row = 0; row < region.height; row++) {
    const from = (region.y + row) * frameWidth + region.x;
    out.set(frame.subarray(from, from + region.width), row * region.width);
  }
  return out;
}

/** The camera frame nearest to an ISO time (-1 without a camera or a time). */
export function frameNearest(sources: CameraSources | undefined, epochMs: number, iso: string): number {
  const ms = Date.parse(iso) - epochMs;
  if (!sources || !Number.isFinite(ms)) return -1;
  return nearestFrameIndex(sources.fps, sources.timeline.frameCount, ms);
}
