/**
 * The one place ffmpeg runs (through fluent-ffmpeg): a command with the located binaries, one process with its recent
 * stderr lines and a graceful stop, and the two ways a run ends (to a file, or its stdout to a callback).
 * - A stop is `q` on stdin, then SIGINT, then SIGTERM; never SIGKILL (it leaves an unplayable MP4), and exit code
 *   255 after a requested stop is normal.
 * - A failure is one VideoError line: the most telling line of ffmpeg's stderr.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { type Readable, Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { locateFfmpeg } from '../locate.js';
import { summarizeFfmpegError, VideoError } from './errors.js';

const STOP_SIGINT_AFTER_MS = 1_500;
const STOP_SIGTERM_AFTER_MS = 5_000;

let configuredFor: string | undefined;
/** Points fluent-ffmpeg at the located ffmpeg and ffprobe (again when the location changed). */
export function configureBinaries(): void {
  const binaries = locateFfmpeg();
  const key = `${binaries.ffmpeg}\0${binaries.ffprobe}`;
  if (configuredFor !== key) {
    ffmpeg.setFfmpegPath(binaries.ffmpeg);
    ffmpeg.setFfprobePath(binaries.ffprobe);
    configuredFor = key;
  }
}

/**
 * An ffmpeg command on `input` with the quiet input options every run uses, in its own process group unless
 * `ownProcessGroup` is false: spawning detached makes Node fork its whole address space instead of using
 * posix_spawn, measured at ≈50 ms of CPU per spawn (bench:motion's ratio rose by about 0.05), so a run that ends by
 * itself and may die with Ctrl+C can skip it.
 */
export function command(
  input: string | Readable,
  options: { ownProcessGroup?: boolean } = {},
): ffmpeg.FfmpegCommand {
  configureBinaries();
  const cmd = ffmpeg(input).inputOptions(['-hide_banner', '-nostats']);
  return options.ownProcessGroup === false ? cmd : inOwnProcessGroup(cmd);
}

type SpawnFfmpeg = (args: string[], options: unknown, ...callbacks: unknown[]) => void;

/**
 * Ctrl+C in a terminal signals the whole foreground process group: ffmpeg would die with the agent's SIGINT and
 * take the clip being encoded with it, while the agent means to finish that clip before it exits. Each ffmpeg gets
 * its own group instead, and stops only when the agent stops it. An ffmpeg the agent leaves behind by crashing
 * still ends: the pipes it writes to close with the agent, and a clip encode ends with its clip. fluent-ffmpeg has
 * no option for spawn's `detached`, so its (pinned) internal spawn is wrapped on this one command.
 */
function inOwnProcessGroup(cmd: ffmpeg.FfmpegCommand): ffmpeg.FfmpegCommand {
  const internals = cmd as unknown as { _spawnFfmpeg: SpawnFfmpeg };
  const spawnFfmpeg = internals._spawnFfmpeg;
  internals._spawnFfmpeg = function (this: unknown, args, options, ...callbacks) {
    const detached =
      typeof options === 'object' && options !== null ? { ...options, detached: true } : options;
    spawnFfmpeg.call(this, args, detached, ...callbacks);
  };
  return cmd;
}

export interface FfmpegRunOptions {
  /** Sees every stderr line first; returning true keeps the line out of error messages. */
  onLine?: (line: string) => boolean;
  /** Sees ffmpeg's stdout as it comes (an output to `pipe:1`); `stdoutEnded` and `onStdoutEnd` tell its end. */
  onStdout?: (chunk: Buffer) => void;
  onStdoutEnd?: () => void;
  /** stdin carries the input data, so `q` cannot be sent there. */
  stdinIsInput?: boolean;
  /** Shortens ffmpeg's error lines that start with this path. */
  inputFile?: string | undefined;
}

/** One ffmpeg process: its exit, its recent stderr lines and a graceful stop. */
export class FfmpegRun {
  proc: ChildProcess | undefined;
  exited = false;
  /** Always true unless `onStdout` was given; then true once ffmpeg's stdout has ended. */
  stdoutEnded: boolean;
  stopRequested = false;
  private interruptFirst = false;
  failure: VideoError | undefined;
  readonly recent: string[] = [];
  readonly done: Promise<void>;
  private onExit: (() => void) | undefined;

  private readonly stdinIsInput: boolean;
  private readonly inputFile: string | undefined;

  /** `what` starts every error message ("cannot decode FILE"). */
  constructor(
    cmd: ffmpeg.FfmpegCommand,
    private readonly what: string,
    options: FfmpegRunOptions = {},
  ) {
    const { onLine, onStdout, onStdoutEnd } = options;
    this.stdoutEnded = onStdout === undefined;
    this.stdinIsInput = options.stdinIsInput === true;
    this.inputFile = options.inputFile;
    cmd.on('start', () => {
      this.proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      this.proc?.stdin?.on('error', () => {});
      if (onStdout && this.proc?.stdout) {
        this.proc.stdout.on('data', onStdout);
        this.proc.stdout.once('end', () => {
          this.stdoutEnded = true;
          onStdoutEnd?.();
        });
      }
      // A stop asked for before fluent-ffmpeg got round to spawning (it checks capabilities first).
      if (this.stopRequested) this.escalate();
    });
    cmd.on('stderr', (line: string) => {
      if (onLine?.(line)) return;
      this.recent.push(line);
      if (this.recent.length > 30) this.recent.shift();
    });
    this.done = new Promise<void>((resolve) => {
      cmd.on('end', () => {
        this.exited = true;
        resolve();
        this.onExit?.();
      });
      cmd.on('error', (error: Error) => {
        this.exited = true;
        if (!this.stopRequested) {
          const line = summarizeFfmpegError(this.recent, error.message, this.inputFile);
          this.failure = new VideoError(`${this.what}: ${line}`);
        }
        resolve();
        this.onExit?.();
      });
    });
  }

  whenExited(callback: () => void): void {
    this.onExit = callback;
  }

  /**
   * `q` on stdin, then SIGINT, then SIGTERM; resolves when the process is gone. `interrupt` starts at SIGINT, for an
   * ffmpeg that is not reading stdin yet (still opening its output).
   */
  async stop(options: { interrupt?: boolean } = {}): Promise<void> {
    if (this.exited) return;
    if (!this.stopRequested) {
      this.stopRequested = true;
      this.interruptFirst = options.interrupt === true;
      if (this.proc) this.escalate();
    }
    await this.done;
  }

  private escalate(): void {
    const proc = this.proc;
    if (!proc || this.exited) return;
    if (!this.stdinIsInput && !this.interruptFirst && proc.stdin?.writable) proc.stdin.write('q');
    else proc.kill('SIGINT');
    const interrupt = setTimeout(() => proc.kill('SIGINT'), STOP_SIGINT_AFTER_MS);
    const terminate = setTimeout(() => proc.kill('SIGTERM'), STOP_SIGTERM_AFTER_MS);
    void this.done.then(() => {
      clearTimeout(interrupt);
      clearTimeout(terminate);
    });
  }
}

/**
 * Where ffmpeg's stdout goes when it is not frames for analysis (a still, raw video to hash). It never emits
 * 'close', because fluent-ffmpeg answers an output stream's 'close' by killing ffmpeg 20 ms later, racing a normal
 * exit.
 */
export class StdoutSink extends Writable {
  ended = false;

  constructor(private readonly onChunk: (chunk: Buffer) => void) {
    super({ autoDestroy: false, emitClose: false });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.onChunk(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.ended = true;
    callback();
  }
}

/**
 * Runs ffmpeg with its stdout handed to `onChunk`, stopped after `timeoutMs`; resolves once ffmpeg and its stdout
 * are both done, with the run (its `stopRequested` says it timed out), or rejects with ffmpeg's error line.
 */
export async function runToStdout(
  cmd: ffmpeg.FfmpegCommand,
  what: string,
  input: string,
  onChunk: (chunk: Buffer) => void,
  timeoutMs: number,
): Promise<FfmpegRun> {
  const sink = new StdoutSink(onChunk);
  const run = new FfmpegRun(cmd, what, { inputFile: input });
  const timer = setTimeout(() => void run.stop(), timeoutMs);
  cmd.pipe(sink, { end: true });
  await run.done;
  clearTimeout(timer);
  if (!sink.ended && !run.failure) await once(sink, 'finish').catch(() => undefined);
  if (run.failure) throw run.failure;
  return run;
}

/**
 * Runs ffmpeg to its end; rejects with one line when it fails, times out after `timeoutMs` or `signal` aborts it.
 */
export async function runToEnd(
  cmd: ffmpeg.FfmpegCommand,
  what: string,
  input: string | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const run = new FfmpegRun(cmd, what, { inputFile: input });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void run.stop();
  }, timeoutMs);
  const onAbort = (): void => void run.stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    cmd.run();
    await run.done;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (timedOut) throw new VideoError(`${what}: ffmpeg did not finish within ${timeoutMs} ms`);
  if (signal?.aborted) throw new VideoError(`${what}: aborted`);
  if (run.failure) throw run.failure;
}
