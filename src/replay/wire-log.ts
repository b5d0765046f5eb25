import { isStoredClipEvent } from './tape.js';
import type { WirePublish } from './wire-proxy.js';

/** A message the device put on the wire (or the broker's will for it), at a scenario time. */
export interface Sniffed {
  t: number;
  publish: WirePublish;
  via?: 'will';
  /**
   * For a retained snapshot, the camera frame it should show: the one on screen at the last ding or motion start
   * before it was read off the wire (after an outage only the latest retained snapshot goes out), else the one shown when it went out
   * (-1: none yet).
   */
  snapshotFrame?: number;
}

/** What the device sent, in order, and what a subscriber on the broker received: the replay's event collection. */
export class WireLog {
  readonly sniffed: Sniffed[] = [];
  readonly delivered: Array<{ topic: string; payload: Buffer }> = [];
  /** Events seen so far, for progress lines (counted as they are sniffed, not by rescanning). */
  private readonly counts: Record<string, number> = { ding: 0, motion: 0, clip: 0 };

  get liveCounts(): Record<string, number> {
    return { ...this.counts };
  }

  /** `snapshotFrame`: the frame a retained snapshot sent now should show. */
  record(message: Omit<Sniffed, 'snapshotFrame'>, snapshotFrame: number): void {
    const sniffed: Sniffed = message.publish.topic.endsWith('/snapshot')
      ? { ...message, snapshotFrame }
      : message;
    this.sniffed.push(sniffed);
    const { topic, payload } = sniffed.publish;
    const counts = this.counts;
    if (topic.endsWith('/events/ding') && payload.includes('"thread":"started"')) counts['ding']!++;
    else if (topic.endsWith('/events/clip') && isStoredClipEvent(topic, decodedPayload(payload)))
      counts['clip']!++;
    else if (topic.endsWith('/events/motion') && payload.includes('"type":"start"')) counts['motion']!++;
  }

  deliver(topic: string, payload: Buffer): void {
    this.delivered.push({ topic, payload });
  }

  /** Offline wills the broker delivered on `availabilityTopic` so far. */
  willsOn(availabilityTopic: string): number {
    return this.delivered.filter((m) => m.topic === availabilityTopic && m.payload.toString() === 'offline')
      .length;
  }

  /** Every message the device sent (and every will) must have reached the subscriber, in order per topic. */
  deliveryProblems(): string[] {
    const expected = byTopic(this.sniffed.map(({ publish }) => publish));
    const got = byTopic(this.delivered);
    const problems: string[] = [];
    for (const [topic, payloads] of expected) {
      const received = got.get(topic) ?? [];
      const same = received.length === payloads.length && payloads.every((p, i) => p.equals(received[i]!));
      if (!same) {
        problems.push(
          `broker delivery: ${topic}: the device sent ${payloads.length} message(s), a subscriber got ${received.length}${received.length === payloads.length ? ' (different order or content)' : ''}`,
        );
      }
    }
    return problems;
  }
}

function byTopic(messages: ReadonlyArray<{ topic: string; payload: Buffer }>): Map<string, Buffer[]> {
  const map = new Map<string, Buffer[]>();
  for (const message of messages) {
    const list = map.get(message.topic) ?? [];
    list.push(message.payload);
    map.set(message.topic, list);
  }
  return map;
}

/** A JSON object or array payload, parsed; anything else (online, ON) as its text. */
export function decodedPayload(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' ? parsed : text;
  } catch {
    return text;
  }
}
