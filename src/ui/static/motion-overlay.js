// The motion box over the live video, for the frame being shown rather than for "now": the live picture runs a
// second or two behind the detector, so motion events are kept and looked up by the device time of each frame.

const EVENT_LIMIT = 256;
/** A box outlives its event by at most this much when nothing follows it (an `end` lost on the way). */
const STALE_MS = 3000;
/** Event times and segment dates are whole milliseconds: allow for the rounding. */
const SLACK_MS = 2;

/** Motion events by device time (`at`); answers which box belongs to a given instant. */
export class MotionTrack {
  constructor() {
    this.events = [];
  }

  /** A motion event's payload (start, update or end). */
  add(payload) {
    const atMs = Date.parse(payload.at);
    if (!Number.isFinite(atMs)) return;
    this.events.push({ atMs, type: payload.type, box: payload.box });
    this.events.sort((a, b) => a.atMs - b.atMs);
    if (this.events.length > EVENT_LIMIT) this.events.shift();
  }

  /**
   * The box for the picture at `deviceMs`, or undefined when nothing moves then. Inside a visit (start … end) an
   * update's box covers the motion since the event before it, so a picture between two events takes the box of the
   * update that follows it; after the last update it keeps that update's box until the end.
   */
  boxAt(deviceMs) {
    if (deviceMs === undefined) return undefined;
    const own = this.events.findLast((event) => Math.abs(event.atMs - deviceMs) <= SLACK_MS);
    if (own) return own.type === 'end' ? undefined : own.box;
    let index = -1;
    for (let i = 0; i < this.events.length && this.events[i].atMs < deviceMs; i++) index = i;
    if (index < 0) return undefined;
    const before = this.events[index];
    if (before.type === 'end') return undefined;
    const after = this.events[index + 1];
    if (after?.type === 'update') return after.box;
    if (!after && deviceMs - before.atMs > STALE_MS) return undefined;
    return before.box;
  }
}

/** Draws `box` (normalized) on a canvas the size of the video picture; clears it when undefined. */
export function drawMotionBox(canvas, box) {
  const context = canvas.getContext('2d');
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!box) {
    delete canvas.dataset.box;
    return;
  }
  const rect = {
    x: Math.round(box.x * canvas.width),
    y: Math.round(box.y * canvas.height),
    w: Math.round(box.w * canvas.width),
    h: Math.round(box.h * canvas.height),
  };
  const line = Math.max(2, Math.round(canvas.width / 320));
  context.strokeStyle = '#ff3b30';
  context.lineWidth = line;
  context.strokeRect(rect.x + line / 2, rect.y + line / 2, rect.w - line, rect.h - line);
  canvas.dataset.box = `${rect.x},${rect.y},${rect.w},${rect.h}`;
}
