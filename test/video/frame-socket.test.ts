import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameSocket, sweepLeftoverDirs } from '../../src/video/frame-socket.js';

// A Node server stands in for ffmpeg listening on the socket (`-listen 1 unix:PATH`).
const open: Array<{ socket: FrameSocket; server?: Server }> = [];
afterEach(async () => {
  for (const { socket, server } of open.splice(0)) {
    await socket.dispose();
    server?.close();
  }
});

function listen(path: string): Promise<{ server: Server; peer: Promise<Socket> }> {
  const server = createServer();
  const peer = new Promise<Socket>((resolve) => server.once('connection', resolve));
  return new Promise((resolve) => server.listen(path, () => resolve({ server, peer })));
}

const pattern = (bytes: number) => Buffer.from(Uint8Array.from({ length: bytes }, (_, i) => (i * 7) % 251));

describe('FrameSocket', () => {
  it('lives in a private directory and connects once the other side starts listening', async () => {
    const socket = await FrameSocket.create();
    open.push({ socket });
    expect(statSync(socket.path.replace(/\/raw\.sock$/, '')).mode & 0o777).toBe(0o700);
    // Named after its process, so a later process can tell a leftover (see sweepLeftoverDirs).
    expect(socket.path).toMatch(new RegExp(`/doorbell-frames-${process.pid}-[^/]+/raw\\.sock$`));
    expect(socket.url).toBe(`unix:${socket.path}`);
    const received: Buffer[] = [];
    socket.connect({
      onBytes: (bytes) => {
        received.push(Buffer.from(bytes));
        return true;
      },
      onStateChange: () => {},
      shouldGiveUp: () => false,
    });
    // Intrinsic: nothing listens yet, and no event marks a refused attempt; 60 ms is about a dozen of them.
    await sleep(60);
    expect(socket.state).toBe('connecting');
    const { server, peer } = await listen(socket.path);
    open.at(-1)!.server = server;
    const sent = pattern(300_000);
    (await peer).end(sent);
    await vi.waitFor(() => expect(socket.state).toBe('closed'), { timeout: 5000, interval: 5 });
    expect(Buffer.concat(received).equals(sent)).toBe(true);
  });

  it('holds the writer back while paused and delivers everything in order after resume', async () => {
    const socket = await FrameSocket.create();
    const { server, peer } = await listen(socket.path);
    open.push({ socket, server });
    const received: Buffer[] = [];
    let count = 0;
    socket.connect({
      onBytes: (bytes) => {
        received.push(Buffer.from(bytes));
        count += bytes.length;
        return count < 100_000;
      },
      onStateChange: () => {},
      shouldGiveUp: () => false,
    });
    const writer = await peer;
    const sent = pattern(8 * 1024 * 1024);
    writer.write(sent);
    await vi.waitFor(() => expect(socket.isPaused).toBe(true), { timeout: 5000, interval: 5 });
    const whilePaused = count;
    // The kernel buffers a little; the rest waits in the writer, which is what stops ffmpeg.
    expect(whilePaused).toBeLessThan(1024 * 1024);
    // No event marks bytes not being read, so this waits for a quiet pipe: once the kernel buffer is full the
    // writer's backlog stops shrinking, and a reader that went on reading would keep draining it (20 ms windows).
    await vi.waitFor(
      async () => {
        const before = writer.writableLength;
        await sleep(20);
        expect(writer.writableLength).toBe(before);
      },
      { timeout: 5000, interval: 0 },
    );
    expect(writer.writableLength).toBeGreaterThan(4 * 1024 * 1024);
    expect(count).toBe(whilePaused);
    count = Number.NEGATIVE_INFINITY; // never pause again
    socket.resume();
    writer.end();
    await vi.waitFor(() => expect(socket.state).toBe('closed'), { timeout: 5000, interval: 5 });
    expect(Buffer.concat(received).equals(sent)).toBe(true);
  });

  it('stops trying when told to give up, and says so', async () => {
    const socket = await FrameSocket.create();
    open.push({ socket });
    let giveUp = false;
    let changes = 0;
    let asked = 0;
    socket.connect({
      onBytes: () => true,
      onStateChange: () => changes++,
      shouldGiveUp: () => {
        asked++;
        return giveUp;
      },
    });
    // Asked before every attempt: a few asks are a few refused attempts, with nobody listening.
    await vi.waitFor(() => expect(asked).toBeGreaterThanOrEqual(3), { timeout: 5000, interval: 5 });
    expect(socket.state).toBe('connecting');
    giveUp = true;
    await vi.waitFor(() => expect(socket.state).toBe('closed'), { timeout: 5000, interval: 5 });
    expect(changes).toBe(1);
  });

  it('removes its directory on dispose, connected or not', async () => {
    const socket = await FrameSocket.create();
    const dir = socket.path.replace(/\/raw\.sock$/, '');
    let asked = 0;
    socket.connect({
      onBytes: () => true,
      onStateChange: () => {},
      shouldGiveUp: () => {
        asked++;
        return false;
      },
    });
    await socket.dispose();
    expect(existsSync(dir)).toBe(false);
    // Someone listens where the socket was, so a retry that came back to life would connect (state 'open')
    // instead of failing quietly. Intrinsic sleep: nothing signals a retry that does not happen; 30 ms is several
    // retry periods (5 ms).
    await mkdir(dir, { recursive: true });
    const { server } = await listen(socket.path);
    open.push({ socket, server });
    const askedAtDispose = asked;
    await sleep(30);
    expect(asked).toBe(askedAtDispose);
    expect(socket.state).toBe('connecting');
  });
});

describe('sweepLeftoverDirs', () => {
  it('removes our socket directories whose process is gone, with what is left in them, and nothing else', async () => {
    const base = await mkdtemp(join(tmpdir(), 'doorbell-sweep-'));
    try {
      const gone = spawnSync(process.execPath, ['-e', '']).pid; // a process that has exited
      const make = async (name: string) => {
        const dir = join(base, name);
        await mkdir(dir);
        await writeFile(join(dir, 'raw.sock'), '');
        return dir;
      };
      const leftover = await make(`doorbell-frames-${gone}-aB3dEf`);
      const ours = await make(`doorbell-frames-${process.pid}-xY1zQw`);
      const running = await make(`doorbell-frames-${process.ppid}-kL9mNo`);
      const unnamed = await make('doorbell-frames-Zz9yXx');
      const other = await make(`someone-else-${gone}-aaaaaa`);
      expect(await sweepLeftoverDirs(base)).toBe(1);
      expect(existsSync(leftover)).toBe(false);
      for (const kept of [ours, running, unnamed, other]) expect(existsSync(kept)).toBe(true);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
