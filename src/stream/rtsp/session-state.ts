/**
 * An RTSP session's life (RFC 2326 Appendix A.1, server side, without RECORD): Ready after SETUP, Playing after PLAY,
 * back to Ready on PAUSE, gone on TEARDOWN or when nothing was heard from the client for the timeout. Pure: the
 * time is passed in.
 */

export type SessionPhase = 'ready' | 'playing' | 'closed';

export type SessionMethod =
  | 'SETUP'
  | 'PLAY'
  | 'PAUSE'
  | 'TEARDOWN'
  | 'GET_PARAMETER'
  | 'SET_PARAMETER'
  | 'OPTIONS';

export type Transition = { ok: true; phase: SessionPhase } | { ok: false; status: 454 | 455 };

const NEXT: Readonly<Record<Exclude<SessionPhase, 'closed'>, Partial<Record<SessionMethod, SessionPhase>>>> =
  {
    ready: {
      SETUP: 'ready',
      PLAY: 'playing',
      TEARDOWN: 'closed',
      GET_PARAMETER: 'ready',
      SET_PARAMETER: 'ready',
      OPTIONS: 'ready',
    },
    playing: {
      PLAY: 'playing',
      PAUSE: 'ready',
      TEARDOWN: 'closed',
      GET_PARAMETER: 'playing',
      SET_PARAMETER: 'playing',
      OPTIONS: 'playing',
    },
  };

export class SessionState {
  private current: SessionPhase = 'ready';
  private lastHeardMs: number;

  constructor(
    nowMs: number,
    readonly timeoutMs: number,
  ) {
    this.lastHeardMs = nowMs;
  }

  get phase(): SessionPhase {
    return this.current;
  }

  /** What `method` does in this phase: the new phase, or the status to answer with. */
  check(method: SessionMethod): Transition {
    if (this.current === 'closed') return { ok: false, status: 454 };
    const next = NEXT[this.current][method];
    return next === undefined ? { ok: false, status: 455 } : { ok: true, phase: next };
  }

  /** Applies `method` if it is valid here (and counts as hearing from the client). */
  apply(method: SessionMethod, nowMs: number): Transition {
    const transition = this.check(method);
    if (transition.ok) {
      this.current = transition.phase;
      this.heard(nowMs);
    }
    return transition;
  }

  /** A request naming the session, or an RTCP report from its client. */
  heard(nowMs: number): void {
    this.lastHeardMs = Math.max(this.lastHeardMs, nowMs);
  }

  expired(nowMs: number): boolean {
    return this.current !== 'closed' && nowMs - this.lastHeardMs > this.timeoutMs;
  }

  close(): void {
    this.current = 'closed';
  }
}
