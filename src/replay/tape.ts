/**
 * The tape: what a replay produced, as JSONL that is byte-identical across runs, processes, machines and ffmpeg
 * builds: pictures are stated by their source frames and checked against them, never by their bytes (fidelity.ts).
 * Line kinds, in order:
 * - header:  {"tape":2,"scenario":…,"device":…,"profile":…,"epoch":…,"durationMs":…,"seed":…,"fps":…,"frames":…}
 * - action:  {"t":ms,"do":"press",…}                     (a timeline action, as it was applied)
 * - mqtt:    {"t":ms,"mqtt":topic,"qos":1,"retain":true,"payload":…}   (every PUBLISH the device sent, in wire
 *            order; "via":"will" for the broker's last-will message when the device dropped off)
 * - object:  {"object":key,…}                            (every bucket object at the end, in key order)
 * - end:     {"end":{"t":ms,"counts":{…}}}
 * t is virtual ms since the scenario's epoch. See docs/replay.md for the normalization of payloads.
 */

/** 2: clips, snapshots and thumbnails by source frames and fidelity instead of pixel hashes. */
export const TAPE_VERSION = 2;

export interface TapeHeader {
  tape: typeof TAPE_VERSION;
  scenario: string;
  device: string;
  profile: string;
  epoch: string;
  durationMs: number;
  seed: number;
  fps: number | null;
  frames: number;
}

export interface TapeAction {
  t: number;
  do: string;
  [arg: string]: unknown;
}

export interface TapeMessage {
  t: number;
  mqtt: string;
  qos: number;
  retain: boolean;
  payload: unknown;
  dup?: true;
  via?: 'will';
}

export interface TapeObject {
  object: string;
  [fact: string]: unknown;
}

export interface TapeEnd {
  end: { t: number; counts: Record<string, number> };
}

export type TapeLine = TapeHeader | TapeAction | TapeMessage | TapeObject | TapeEnd;

export function isMessage(line: TapeLine): line is TapeMessage {
  return 'mqtt' in line;
}

export function isObject(line: TapeLine): line is TapeObject {
  return 'object' in line;
}

/** Object keys sorted at every level, so equal values always serialize the same. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** One line per entry; the line's own keys keep their order (t first), everything inside is key-sorted. */
export function serializeTape(lines: readonly TapeLine[]): string {
  return lines.map((line) => serializeLine(line)).join('\n') + '\n';
}

function serializeLine(line: TapeLine): string {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(line)) out[key] = sortKeys(value);
  return JSON.stringify(out);
}

export function parseTape(text: string): TapeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as TapeLine;
      } catch (error) {
        throw new Error(`tape line ${i + 1} is not JSON: ${(error as Error).message}`);
      }
    });
}

/** Event counts by kind, from the MQTT lines (what the expectations and the end line talk about). */
export function countEvents(lines: readonly TapeLine[]): Record<string, number> {
  const counts: Record<string, number> = {
    ding: 0,
    'ding.answered': 0,
    'ding.missed': 0,
    'motion.start': 0,
    'motion.update': 0,
    'motion.end': 0,
    clip: 0,
    snapshot: 0,
    objects: 0,
  };
  const sessions = new Set<string>();
  for (const line of lines) {
    if (isObject(line)) counts['objects']!++;
    if (!isMessage(line)) continue;
    const topic = line.mqtt;
    const sessionId = (line.payload as { sessionId?: unknown } | null)?.sessionId;
    if (typeof sessionId === 'string') sessions.add(sessionId);
    if (topic.endsWith('/events/ding')) {
      const ring = line.payload as { thread?: string; outcome?: string } | null;
      // A ring is one thread: its started message counts as the ring, its ended one as the outcome.
      if (ring?.thread === 'ended') counts[`ding.${ring.outcome}`]!++;
      else counts['ding']!++;
    } else if (isStoredClipEvent(topic, line.payload)) counts['clip']!++;
    else if (topic.endsWith('/snapshot')) counts['snapshot']!++;
    else if (topic.endsWith('/events/motion')) {
      const type = (line.payload as { type?: string } | null)?.type;
      if (type === 'start' || type === 'update' || type === 'end') counts[`motion.${type}`]!++;
    }
  }
  counts['motion'] = counts['motion.start']!;
  counts['sessions'] = sessions.size;
  return counts;
}

/** An `events/clip` message about a stored clip; a lost one (`status: "lost"`) names no object and is not a clip. */
export function isStoredClipEvent(topic: string, payload: unknown): boolean {
  return (
    topic.endsWith('/events/clip') &&
    payload !== null &&
    typeof payload === 'object' &&
    (payload as { status?: unknown }).status !== 'lost'
  );
}
