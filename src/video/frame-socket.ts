/**
 * Where ffmpeg's raw frames arrive: a Unix socket ffmpeg listens on (`-listen 1 unix:PATH`), read into one reused
 * buffer (net.Socket `onread`) instead of a fresh Buffer for every 64 KB pipe chunk. Measured on a 720p30 decode
 * to 320-px gray (41 MB): Node's CPU for taking the frames in fell from 90–160 ms (stdout pipe) to 40–80 ms, most
 * of the difference being garbage collection of the chunk Buffers, CPU that ffmpeg's decoder threads want on a
 * 2-core machine. The socket sits in a fresh 0700 directory, so no other user can connect and read the frames.
 * Unix sockets: Linux and macOS, not Windows.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type FrameSocketState = 'connecting' | 'open' | 'closed';

export interface FrameSocketHandlers {
  /** Bytes in a buffer that is reused once this returns: copy them. Return false to pause until `resume()`. */
  onBytes(bytes: Uint8Array): boolean;
  /** The state changed: connected or closed. */
  onStateChange(): void;
  /** Asked before each connection attempt: true stops trying (the ffmpeg that would listen has exited). */
  shouldGiveUp(): boolean;
}

const CONNECT_RETRY_MS = 5;
const READ_BUFFER_BYTES = 256 * 1024;
/** sun_path holds 108 bytes on Linux, 104 on macOS; a longer TMPDIR falls back to /tmp. */
const MAX_SOCKET_PATH = 100;
/** Directory names carry the owner's pid, so a later process can tell a leftover from a socket in use. */
const DIR_PREFIX = 'doorbell-frames-';
let leftoversSwept = false;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes our own socket directories whose process is gone: one killed with SIGKILL (and its ffmpeg with it)
 * could not clean up. Returns how many it removed.
 */
export async function sweepLeftoverDirs(base: string): Promise<number> {
  let removed = 0;
  const uid = process.getuid?.();
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const pid = Number(/^doorbell-frames-(\d+)-/.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isRunning(pid)) continue;
    const dir = join(base, name);
    try {
      const info = await stat(dir);
      if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
      await rm(dir, { recursive: true, force: true });
      removed++;
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

export class FrameSocket {
  state: FrameSocketState = 'connecting';
  private socket: net.Socket | undefined;
  private paused = false;
  private retry: NodeJS.Timeout | undefined;
  private disposed = false;

  private constructor(
    private readonly dir: string,
    readonly path: string,
  ) {}

  static async create(): Promise<FrameSocket> {
    if (process.platform === 'win32') {
      throw new Error('decoded frames travel over a Unix socket, which needs Linux or macOS');
    }
    const prefix = `${DIR_PREFIX}${process.pid}-`;
    const longest = join(tmpdir(), `${prefix}XXXXXX`, 'raw.sock');
    const base = Buffer.byteLength(longest) <= MAX_SOCKET_PATH ? tmpdir() : '/tmp';
    if (!leftoversSwept) {
      leftoversSwept = true;
      void sweepLeftoverDirs(base);
    }
    const dir = await mkdtemp(join(base, prefix));
    return new FrameSocket(dir, join(dir, 'raw.sock'));
  }

  /** What ffmpeg writes to, with `-listen 1`. */
  get url(): string {
    return `unix:${this.path}`;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Connects as soon as ffmpeg listens (it opens its output after probing the input), retrying every few ms. */
  connect(handlers: FrameSocketHandlers): void {
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const callback = (nread: number, into: Uint8Array): boolean => {
      const more = handlers.onBytes(into.subarray(0, nread));
      if (!more) this.paused = true;
      return more;
    };
    const attempt = (): void => {
      this.retry = undefined;
      if (this.disposed || this.state !== 'connecting') return;
      if (handlers.shouldGiveUp()) {
        this.state = 'closed';
        handlers.onStateChange();
        return;
      }
      const socket = net.connect({ path: this.path, onread: { buffer, callback } });
      socket.once('connect', () => {
        this.socket = socket;
        this.state = 'open';
        handlers.onStateChange();
      });
      socket.on('error', () => {
        // Before ffmpeg listens: ENOENT, then ECONNREFUSED. Keep trying until it does or shouldGiveUp says stop.
        // After connecting, an error is a dying ffmpeg: its exit status says why, and 'close' follows.
        if (this.socket !== socket && !this.disposed) this.retry = setTimeout(attempt, CONNECT_RETRY_MS);
      });
      socket.once('close', () => {
        if (this.socket !== socket) return;
        this.state = 'closed';
        handlers.onStateChange();
      });
    };
    attempt();
  }

  /** Reads again after `onBytes` asked for a pause. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket?.resume();
  }

  /** Stops connecting, closes the connection and removes the socket's directory. */
  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.retry);
    this.socket?.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}
