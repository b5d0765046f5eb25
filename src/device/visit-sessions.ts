/**
 * Which visit an event belongs to. A visit is a stretch of activity — a motion, a ring waiting for an answer — and the
 * quiet after it: an event more than `gapMs` after everything went quiet starts a new session, named by its own id
 * (so sessions are as deterministic as event ids). Pure: times are the events' device times.
 */
export class VisitSessions {
  private sessionId: string | undefined;
  private readonly open = new Set<string>();
  private quietSince = Number.NEGATIVE_INFINITY;

  constructor(private gapMs: number) {}

  set gap(gapMs: number) {
    this.gapMs = gapMs;
  }

  /** The session of an event at `atMs`; if a new one starts here, it is named `eventId`. */
  sessionOf(eventId: string, atMs: number): string {
    if (this.sessionId === undefined || (this.open.size === 0 && atMs - this.quietSince > this.gapMs)) {
      this.sessionId = eventId;
    }
    return this.sessionId;
  }

  /** A thread (a motion, a ring) began: the visit goes on at least until it ends. */
  opened(threadId: string): void {
    this.open.add(threadId);
  }

  /** A thread ended at `atMs`: once none is open, the quiet counts from the last end. */
  closed(threadId: string, atMs: number): void {
    if (!this.open.delete(threadId)) return;
    this.quietSince = Math.max(this.quietSince, atMs);
  }
}
