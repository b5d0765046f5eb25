import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import type { GroundTruth } from '../../src/evaluation/ground-truth.js';
import type { Sensitivity } from '../../src/motion/settings.js';
import { shownRegion } from '../../src/replay/camera-sources.js';
import { CameraTimeline, type PlaySwitch, timelineLabeller } from '../../src/replay/camera-timeline.js';
import { compareTapes } from '../../src/replay/compare.js';
import { checkExpectations } from '../../src/replay/expectations.js';
import { junitXml } from '../../src/replay/junit.js';
import { BucketOutageError, OutageBucket } from '../../src/replay/outage-bucket.js';
import { resolveScenario, SCENARIOS_DIR, scenarioJsonSchema } from '../../src/replay/scenario.js';
import { countEvents, parseTape, serializeTape } from '../../src/replay/tape.js';
import { PublishSniffer, type WirePublish } from '../../src/replay/wire-proxy.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { areaDownscaler } from '../../src/video/luma-frames.js';

describe('scenario validation', () => {
  it('names every problem with its field path and value', async () => {
    const result = await resolveScenario(
      {
        name: 'Bad Name',
        video: 'no-such-fixture',
        durationMs: 5000,
        timeline: [
          { at: 1000, do: 'press' },
          { at: 2000, do: 'broker-outage', until: 1500 },
          { at: 9000, do: 'dance' },
        ],
        expect: { dings: 1 },
      },
      'bad.json',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.errors.join('\n');
    expect(text).toContain('bad.json: name:');
    expect(text).toContain('"Bad Name"');
    expect(text).toContain('timeline.2.do');
    expect(text).toContain('expect');
    for (const line of result.errors) expect(line).toMatch(/^bad\.json: \S+/);
  });

  it('checks times against the duration and outages against each other', async () => {
    const result = await resolveScenario(
      {
        name: 'times',
        video: null,
        durationMs: 5000,
        timeline: [
          { at: 1000, do: 'bucket-outage', until: 3000 },
          { at: 2000, do: 'bucket-outage', until: 2500 },
          { at: 6000, do: 'press' },
        ],
      },
      's.json',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.some((e) => e.includes('timeline.1.at') && e.includes('overlaps'))).toBe(true);
    expect(result.errors.some((e) => e.includes('timeline.2.at') && e.includes('after the end'))).toBe(true);
  });

  it('resolves fixtures and profile overrides, and refuses bad overrides and encryption', async () => {
    const good = await resolveScenario(
      {
        name: 'ok',
        video: 'quiet-porch',
        durationMs: 2000,
        device: { profile: { base: 'wired-1080p', overrides: { motion: { sensitivity: 'high' } } } },
        timeline: [{ at: 500, do: 'play', video: 'visitor-at-door' }],
      },
      '<inline>',
    );
    expect(good.ok).toBe(true);
    if (!good.ok) return;
    expect(good.value.video).toMatch(/fixtures\/video\/quiet-porch\.mp4$/);
    expect(good.value.plays.get(0)).toMatch(/visitor-at-door\.mp4$/);
    expect(good.value.profile.profile.motion.sensitivity).toBe('high');

    const bad = await resolveScenario(
      {
        name: 'bad',
        video: null,
        durationMs: 2000,
        device: { profile: { overrides: { motion: { sensitivity: 'extreme' } } } },
      },
      'b.json',
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors[0]).toContain('device.profile.overrides.motion.sensitivity');

    const sealed = await resolveScenario(
      {
        name: 'sealed',
        video: null,
        durationMs: 2000,
        device: {
          profile: { overrides: { privacy: { encryption: { enabled: true, ownerPublicKey: 'k.pem' } } } },
        },
      },
      'e.json',
    );
    expect(sealed.ok).toBe(false);
    if (!sealed.ok) expect(sealed.errors[0]).toContain('encryption');
  });

  it('exports a JSON Schema for editors, and the committed copy is current', () => {
    const schema = scenarioJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    const committed = JSON.parse(
      readFileSync(join(SCENARIOS_DIR, '../../docs/schema/scenario.schema.json'), 'utf8'),
    );
    expect(committed, 'regenerate: doorbell replay --schema > docs/schema/scenario.schema.json').toEqual(
      schema,
    );
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['name', 'video', 'timeline', 'expect']),
    );
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'video', 'durationMs']));
  });
});

describe('camera timeline', () => {
  const counts = new Map([
    ['base', 5],
    ['play', 3],
  ]);
  it('plays a fixture from its first frame, then resumes the base where it was', () => {
    const timeline = new CameraTimeline(
      { path: 'base', frameCount: 5 },
      [{ atMs: 200, path: 'play', loop: false }],
      100,
      1200,
      counts,
    );
    const shown = Array.from({ length: timeline.frameCount }, (_, k) => timeline.frameAt(k));
    expect(shown.map((f) => `${f.path}:${f.index}`)).toEqual([
      'base:0',
      'base:1',
      'play:0',
      'play:1',
      'play:2',
      'base:2',
      'base:3',
      'base:4',
      'base:0',
      'base:1',
      'base:2',
      'base:3',
    ]);
    expect(timeline.singleFile).toBe(false);
    expect(timeline.segments[0]).toEqual({ path: 'base', startFrame: 0, endFrame: 2 });
  });

  it('loops a played fixture until the next play', () => {
    const timeline = new CameraTimeline(
      { path: 'base', frameCount: 5 },
      [
        { atMs: 0, path: 'play', loop: true },
        { atMs: 750, path: 'base', loop: false },
      ],
      100,
      1000,
      counts,
    );
    const shown = Array.from({ length: timeline.frameCount }, (_, k) => timeline.frameAt(k));
    expect(shown.map((f) => `${f.path}:${f.index}`).slice(0, 9)).toEqual([
      'play:0',
      'play:1',
      'play:2',
      'play:0',
      'play:1',
      'play:2',
      'play:0',
      'play:1',
      'base:0',
    ]);
  });
});

describe('motion labels in replay', () => {
  // base (6 frames): an event at medium in frames 1-3, a person; play (4 frames): a cat in frames 0-2, at high only.
  const truths = new Map<string, GroundTruth>([
    ['base', truth(6, { medium: [{ startFrame: 1, endFrame: 3, labels: ['person'] }], high: [] })],
    ['play', truth(4, { medium: [], high: [{ startFrame: 0, endFrame: 3, labels: ['animal'] }] })],
  ]);
  function truth(frameCount: number, expected: GroundTruth['expected']): GroundTruth {
    return { fps: 10, frameCount, expected, settings: {} };
  }
  const counts = new Map([
    ['base', 6],
    ['play', 4],
  ]);
  /** A timeline over `base` at 10 fps with these plays. */
  const timelineOf = (plays: PlaySwitch[], durationMs: number) =>
    new CameraTimeline({ path: 'base', frameCount: 6 }, plays, 100, durationMs, counts);
  /** The labels of every frame, `-` for none, `+` between labels. */
  const labelsOver = (timeline: CameraTimeline, sensitivity: Sensitivity) => {
    const labeller = timelineLabeller(timeline, truths);
    return Array.from(
      { length: timeline.frameCount },
      (_, k) => labeller(k * 100, sensitivity)?.join('+') ?? '-',
    ).join(' ');
  };

  it('labels each frame from the ground truth of the fixture on screen, at the frame of it shown', () => {
    // base:0 base:1 play:0-3 base:2-5 base:0-3 (looped)
    const timeline = timelineOf([{ atMs: 200, path: 'play', loop: false }], 1400);
    expect(labelsOver(timeline, 'medium')).toBe('- person - - - - person - - - - person person -');
    expect(labelsOver(timeline, 'high')).toBe('- - animal animal animal - - - - - - - - -');
    // Between frames and past the end: the nearest frame, the last one.
    expect(timelineLabeller(timeline, truths)(120, 'medium')).toEqual(['person']);
    expect(timelineLabeller(timeline, truths)(99_999, 'medium')).toBeUndefined();
  });

  it("a play's declared labels win over any ground truth for as long as it plays, looped ones included", () => {
    const timeline = timelineOf(
      [
        { atMs: 100, path: 'play', loop: false, labels: ['person', 'package'] },
        { atMs: 500, path: 'play', loop: true, labels: ['vehicle'] },
        { atMs: 1000, path: 'base', loop: false },
      ],
      1200,
    );
    expect(labelsOver(timeline, 'high')).toBe(
      '- person+package person+package person+package person+package vehicle vehicle vehicle vehicle vehicle - -',
    );
    // A play of a video without declared labels: its ground truth again (base:0, base:1).
    expect(labelsOver(timeline, 'medium').split(' ').slice(10)).toEqual(['-', 'person']);
  });
});

describe('pictures are checked against the part of the source the camera shows', () => {
  it('is the whole source for a camera of its proportion, the centre for a narrower or wider one', () => {
    const source = { width: 320, height: 180 };
    expect(shownRegion(source, { width: 1920, height: 1080 })).toEqual({
      width: 320,
      height: 180,
      x: 0,
      y: 0,
    });
    // peephole-4x3: 1440×1080 from 640×360 is the source's central 480×360, here at the comparison scale.
    expect(shownRegion(source, { width: 1440, height: 1080 })).toEqual({
      width: 240,
      height: 180,
      x: 40,
      y: 0,
    });
    expect(shownRegion(source, { width: 1920, height: 800 })).toEqual({
      width: 320,
      height: 134,
      x: 0,
      y: 23,
    });
  });
});

describe('analysis frames', () => {
  it('expands limited-range luma and averages 2×2 cells', () => {
    const down = areaDownscaler(4, 2, 2, 1);
    const y = Uint8Array.from([16, 16, 235, 235, 16, 16, 235, 235, 0, 0, 0, 0]);
    expect([...down(y)]).toEqual([0, 255]);
    const odd = areaDownscaler(3, 1, 2, 1);
    expect([...odd(Uint8Array.from([16, 235, 235]))]).toEqual([85, 255]);
  });
});

describe('wire sniffer', () => {
  function publishPacket(topic: string, payload: string, qos: 0 | 1, retain: boolean): Buffer {
    const t = Buffer.from(topic);
    const body = Buffer.concat([
      Buffer.from([t.length >> 8, t.length & 0xff]),
      t,
      qos ? Buffer.from([0, 7]) : Buffer.alloc(0),
      Buffer.from(payload),
    ]);
    return Buffer.concat([Buffer.from([0x30 | (qos << 1) | (retain ? 1 : 0), body.length]), body]);
  }

  it('reads PUBLISH packets split across chunks, in order, skipping other packets', () => {
    const seen: WirePublish[] = [];
    const sniffer = new PublishSniffer((p) => seen.push(p));
    const stream = Buffer.concat([
      Buffer.from([0xc0, 0x00]), // PINGREQ
      publishPacket('doorbell/a/state', '{"x":1}', 1, true),
      publishPacket('doorbell/a/events/ding', 'ding', 0, false),
    ]);
    for (let i = 0; i < stream.length; i += 3) sniffer.push(stream.subarray(i, i + 3));
    expect(seen.map((p) => [p.topic, p.payload.toString(), p.qos, p.retain])).toEqual([
      ['doorbell/a/state', '{"x":1}', 1, true],
      ['doorbell/a/events/ding', 'ding', 0, false],
    ]);
  });

  it('throws on a stream it cannot parse (the proxy drops that connection)', () => {
    const sniffer = new PublishSniffer(() => {});
    expect(() => sniffer.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow();
  });

  it('skips MQTT 5 publish properties after a v5 CONNECT, and reads a multi-byte remaining length', () => {
    const seen: WirePublish[] = [];
    const sniffer = new PublishSniffer((p) => seen.push(p));
    const name = Buffer.from('MQTT');
    const connectBody = Buffer.concat([
      Buffer.from([0, name.length]),
      name,
      Buffer.from([5, 0x02, 0, 60, 0]), // level 5, clean start, keep-alive 60, no properties
      Buffer.from([0, 1, 0x61]), // client id "a"
    ]);
    const topic = Buffer.from('doorbell/a/state');
    const payload = 'x'.repeat(200);
    const properties = Buffer.from([0x01, 0x01, 0x23, 0x00, 0x05]); // payload format, topic alias
    const body = Buffer.concat([
      Buffer.from([0, topic.length]),
      topic,
      Buffer.from([0, 9]), // packet id (qos 1)
      Buffer.from([properties.length]),
      properties,
      Buffer.from(payload),
    ]);
    const length = Buffer.from([(body.length & 0x7f) | 0x80, body.length >> 7]);
    const stream = Buffer.concat([
      Buffer.from([0x10, connectBody.length]),
      connectBody,
      Buffer.from([0x32]),
      length,
      body,
    ]);
    for (let i = 0; i < stream.length; i += 5) sniffer.push(stream.subarray(i, i + 5));
    expect(seen.map((p) => [p.topic, p.payload.toString(), p.qos])).toEqual([
      ['doorbell/a/state', payload, 1],
    ]);
  });
});

describe('tapes', () => {
  it('serializes with sorted keys inside, t first, and round-trips', () => {
    const text = serializeTape([
      { t: 5, mqtt: 'x/events/ding', qos: 1, retain: false, payload: { b: 1, a: { d: 2, c: 3 } } },
    ]);
    expect(text).toBe(
      '{"t":5,"mqtt":"x/events/ding","qos":1,"retain":false,"payload":{"a":{"c":3,"d":2},"b":1}}\n',
    );
    expect(parseTape(text)).toHaveLength(1);
    // Keys are sorted inside arrays too.
    expect(
      serializeTape([{ t: 0, mqtt: 'x', qos: 0, retain: false, payload: { z: [{ b: 1, a: 2 }] } }]),
    ).toContain('"payload":{"z":[{"a":2,"b":1}]}');
  });

  it('counts events by kind and checks expectations', () => {
    const counts = countEvents([
      { t: 1, mqtt: 'd/x/events/ding', qos: 1, retain: false, payload: {} },
      { t: 2, mqtt: 'd/x/events/motion', qos: 1, retain: false, payload: { type: 'start' } },
      { t: 3, mqtt: 'd/x/events/motion', qos: 1, retain: false, payload: { type: 'end' } },
      { object: 'clips/x.mp4' },
    ]);
    expect(counts).toMatchObject({
      ding: 1,
      motion: 1,
      'motion.start': 1,
      'motion.end': 1,
      clip: 0,
      objects: 1,
    });
    const results = checkExpectations({ ding: 1, motion: { min: 2 }, clip: { max: 0 } }, counts);
    expect(results.map((r) => [r.label, r.ok])).toEqual([
      ['ding = 1', true],
      ['motion ≥ 2', false],
      ['clip ≤ 0', true],
    ]);
  });

  it('reports the first divergence with context and the fields that changed', () => {
    const golden = [
      '{"tape":1}',
      '{"t":1,"a":1}',
      '{"t":2,"payload":{"score":0.71,"seq":3}}',
      '{"end":1}',
    ].join('\n');
    const actual = [
      '{"tape":1}',
      '{"t":1,"a":1}',
      '{"t":2,"payload":{"score":0.69,"seq":3}}',
      '{"end":1}',
    ].join('\n');
    const diff = compareTapes(`${golden}\n`, `${actual}\n`);
    expect(diff.equal).toBe(false);
    expect(diff.line).toBe(3);
    expect(diff.report).toContain('tapes differ at line 3');
    expect(diff.report).toContain('payload.score: 0.71 → 0.69');
    expect(diff.report).toMatch(/^ {2}\s+2 {3}\{"t":1,"a":1\}$/m);
    expect(compareTapes('a\n', 'a\n').equal).toBe(true);
  });

  it('writes JUnit XML with escaped failures', () => {
    const xml = junitXml([
      { name: 's<1>', time: 1.5, cases: [{ name: 'ok' }, { name: 'bad', failure: 'a & b\nmore' }] },
    ]);
    expect(xml).toContain('tests="2" failures="1"');
    expect(xml).toContain('<failure message="a &amp; b">a &amp; b\nmore</failure>');
    expect(xml).toContain('name="s&lt;1&gt;"');
  });
});

describe('outage bucket', () => {
  it('fails every call while down and has a fixed name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doorbell-outage-'));
    const file = join(dir, 'a.txt');
    writeFileSync(file, 'hello');
    const bucket = new OutageBucket(new FsBucket(join(dir, 'bucket')));
    expect(bucket.describe()).toBe('replay://bucket');
    bucket.setDown(true);
    await expect(bucket.put('k/a.txt', file, {})).rejects.toBeInstanceOf(BucketOutageError);
    await expect(bucket.head('k/a.txt')).rejects.toBeInstanceOf(BucketOutageError);
    expect(bucket.refusedCalls).toBe(2);
    bucket.setDown(false);
    await expect(bucket.put('k/a.txt', file, {})).resolves.toMatchObject({ bytes: 5 });
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('virtual clock heap', () => {
  it('fires thousands of timers in (due, scheduling) order, skipping cleared ones', () => {
    const clock = new VirtualClock(0);
    const fired: number[] = [];
    const handles = [];
    for (let i = 0; i < 5000; i++) handles.push(clock.setTimeout(() => fired.push(i), (i * 7919) % 1000));
    for (let i = 0; i < 5000; i += 2) clock.clearTimer(handles[i]);
    clock.advance(1000);
    expect(fired).toHaveLength(2500);
    const due = (i: number) => (i * 7919) % 1000;
    for (let j = 1; j < fired.length; j++) {
      const a = fired[j - 1]!;
      const b = fired[j]!;
      expect(due(a) < due(b) || (due(a) === due(b) && a < b)).toBe(true);
    }
    expect(clock.pendingTimers()).toBe(0);
  });

  it('keeps intervals periodic and clearable from inside their callback', () => {
    const clock = new VirtualClock(0);
    let ticks = 0;
    const handle = clock.setInterval(() => {
      ticks++;
      if (ticks === 3) clock.clearTimer(handle);
    }, 100);
    clock.advance(1000);
    expect(ticks).toBe(3);
    expect(clock.now()).toBe(1000);
  });
});
