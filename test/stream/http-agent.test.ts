import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { agentStreamRoutes } from '../../src/agent/live-streams.js';
import { runCli } from '../../src/cli/run.js';
import { silentLogger } from '../../src/log/logger.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { type ConsoleServer, startConsoleServer } from '../../src/ui/server.js';
import { startAgent } from '../helpers/agent.js';
import { captureIo } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/mqtt.js';
import { FakeBackend } from '../ui/fake-backend.js';
import { request } from '../ui/http-client.js';

const RIGHT_HALF = [
  [0.5, 0],
  [1, 0],
  [1, 1],
  [0.5, 1],
];

/** Mean luma of the left and right halves of a JPEG, and its size. */
async function halves(jpeg: Buffer) {
  const { data, info } = await sharp(jpeg).greyscale().raw().toBuffer({ resolveWithObject: true });
  let left = 0;
  let right = 0;
  for (let y = 0; y < info.height; y++)
    for (let x = 0; x < info.width; x++) {
      if (x < info.width / 2) left += data[y * info.width + x]!;
      else right += data[y * info.width + x]!;
    }
  const half = (info.width / 2) * info.height;
  return { width: info.width, height: info.height, left: left / half, right: right / half };
}

describe('the agent serves its camera as live streams and says where', () => {
  let broker: EmbeddedBroker;
  let agent: Agent;
  let server: ConsoleServer;

  beforeAll(async () => {
    broker = new EmbeddedBroker({ port: 0 });
    await broker.start();
    agent = await startAgent(
      broker.url,
      'porch',
      { resolution: { width: 480, height: 270 }, fps: 10 },
      { video: join(REPO_ROOT, 'fixtures/video/porch-loop.mp4') },
    );
    server = await startConsoleServer({
      backend: new FakeBackend({ frames: [] }),
      port: 0,
      streams: agentStreamRoutes(agent, silentLogger()),
    });
    agent.setLinkOrigin(server.url);
  });

  afterAll(async () => {
    await server?.stop();
    await agent?.stop();
    await broker?.stop();
  });

  it('state carries the MJPEG, HLS and snapshot URLs (no RTSP server was asked for), each served', async () => {
    const base = server.url.replace(/\/$/, '');
    const streams = agent.state().streams!;
    expect(streams).toEqual({
      mjpeg: { main: `${base}/porch/mjpeg`, sub: `${base}/porch/sub/mjpeg` },
      hls: { main: `${base}/porch/hls/index.m3u8`, sub: `${base}/porch/sub/hls/index.m3u8` },
      snapshot: `${base}/porch/snapshot.jpg`,
    });
    for (const url of [streams.hls!.main, streams.hls!.sub, streams.snapshot!]) {
      const response = await request(url);
      expect(response.status, url).toBe(200);
    }
  }, 30_000);

  it("the snapshot is at the profile's size, and follows the owner's privacy zones", async () => {
    const url = agent.state().streams!.snapshot!;
    const before = await halves((await request(url)).body);
    expect([before.width, before.height]).toEqual([480, 270]);
    expect(before.right).toBeGreaterThan(30);
    agent.reconfigure({ privacy: { zones: [{ name: 'neighbours', polygon: RIGHT_HALF }] } });
    const after = await halves((await request(url)).body);
    expect(after.right).toBeLessThan(8);
    expect(after.left).toBeGreaterThan(30);
  });
});

describe('doorbell start: RTSP flags', () => {
  async function start(args: string[], env: NodeJS.ProcessEnv = {}) {
    const io = captureIo({ cwd: REPO_ROOT, env });
    const code = await runCli(['start', '--video', 'none', ...args], io);
    return { code, stderr: io.err() };
  }

  it('refuses an RTSP server reachable from other machines without credentials, as the console does', async () => {
    const refused = await start(['--rtsp-port', '0', '--rtsp-host', '0.0.0.0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--rtsp-credentials');
    const fromEnv = await start([], { DOORBELL_RTSP_PORT: '0', DOORBELL_RTSP_HOST: '192.168.1.5' });
    expect(fromEnv.code).toBe(2);
    const malformed = await start(['--rtsp-port', '0', '--rtsp-credentials', 'nopassword']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('USER:PASS');
    expect((await start(['--rtsp-port', '99999'])).code).toBe(2);
  });
});
