/**
 * The RTSP server against clients no one here wrote: ffprobe, ffmpeg over TCP and UDP, GStreamer's rtspsrc; and the
 * protocol's answers to a hand-driven client.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { md5Hex } from '../../src/stream/rtsp/digest.js';
import { type RtspServer, startRtspServer } from '../../src/stream/rtsp/server.js';
import { findOnPath, locateFfmpeg } from '../../src/video/locate.js';
import {
  decodeTrouble,
  framemd5Count,
  gstTrouble,
  RawRtspClient,
  runProgram,
  UDP_READER_OPTIONS,
} from './helpers/clients.js';
import { encodeFixture, FixtureLiveVideo } from './helpers/fixture-live-video.js';

const FPS = 15;
const READ_SECONDS = 5;
const { ffmpeg, ffprobe } = locateFfmpeg();
const gstLaunch = findOnPath('gst-launch-1.0');

let live: FixtureLiveVideo;
let server: RtspServer;
const firstUnitMs: number[] = [];
const serverLog: string[] = [];

beforeAll(async () => {
  live = new FixtureLiveVideo(await encodeFixture());
  server = await startRtspServer({
    host: '127.0.0.1',
    port: 0,
    resolve: (path) => (path === '/test' ? live : undefined),
    // Debug lines kept to explain a failing client (who closed what, and why).
    logger: pino({ level: 'debug' }, { write: (line: string) => void serverLog.push(line) }),
    onFirstUnitSent: (event) => firstUnitMs.push(event.sincePlayMs),
  });
});

afterAll(async () => {
  await server?.stop();
});

/** Reads READ_SECONDS of the stream with ffmpeg, one framemd5 line per decoded frame. */
function ffmpegRead(transport: 'tcp' | 'udp', url = server.url('/test')) {
  const args = [
    ...['-hide_banner', '-nostats', '-v', 'warning', '-rtsp_transport', transport],
    ...(transport === 'udp' ? UDP_READER_OPTIONS : []),
    ...['-i', url],
  ];
  return runProgram(ffmpeg, [...args, '-t', String(READ_SECONDS), '-f', 'framemd5', '-'], 30_000);
}

describe('RTSP server with real clients', () => {
  it('ffprobe sees an H.264 stream at 640x360', async () => {
    const run = await runProgram(
      ffprobe,
      [
        '-v',
        'error',
        '-show_entries',
        'stream=codec_name,width,height',
        '-of',
        'csv=p=0',
        server.url('/test'),
      ],
      20_000,
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('h264,640,360');
  });

  it('ffmpeg reads 5 s over TCP and over UDP at ≥ 95 % of the frame rate, decoding cleanly, from one encode', async () => {
    const startsBefore = live.starts;
    const [tcp, udp] = await Promise.all([ffmpegRead('tcp'), ffmpegRead('udp')]);
    for (const [name, run] of [
      ['tcp', tcp],
      ['udp', udp],
    ] as const) {
      expect(run.code, `${name}: ${run.stderr}`).toBe(0);
      expect(decodeTrouble(run.stderr, name), name).toBeUndefined();
      const frames = framemd5Count(run.stdout);
      expect(frames, name).toBeGreaterThanOrEqual(Math.ceil(0.95 * FPS * READ_SECONDS));
      // Real time: 5 s of pictures arrived in not much more than 5 s (plus the connection's setup).
      expect(run.ms, name).toBeLessThan((READ_SECONDS * 1000) / 0.95 + 2_500);
      console.log(`ffmpeg ${name}: ${frames} frames in ${(run.ms / 1000).toFixed(2)} s`);
    }
    expect(live.starts - startsBefore).toBeLessThanOrEqual(1);
    await expect.poll(() => live.subscriberCount, { timeout: 5_000 }).toBe(0);
  });

  it.skipIf(!gstLaunch)(
    'GStreamer rtspsrc plays it over TCP and UDP (skipped when gst-launch-1.0 is absent)',
    async () => {
      const play = (protocols: string) =>
        runProgram(
          gstLaunch!,
          [
            'rtspsrc',
            `location=${server.url('/test')}`,
            `protocols=${protocols}`,
            '!',
            'rtph264depay',
            '!',
            'h264parse',
            '!',
            'avdec_h264',
            '!',
            'fakesink',
            'num-buffers=30',
          ],
          30_000,
        );
      const logFrom = serverLog.length;
      const [tcp, udp] = await Promise.all([play('tcp'), play('udp')]);
      const log = serverLog.slice(logFrom).join('');
      expect(gstTrouble(tcp), `server: ${log}`).toBeUndefined();
      expect(gstTrouble(udp), `server: ${log}`).toBeUndefined();
    },
  );

  it('measures PLAY to the first picture sent, and to ffmpeg first decoded frame', async () => {
    const run = await runProgram(
      ffmpeg,
      [
        '-v',
        'error',
        '-rtsp_transport',
        'tcp',
        '-i',
        server.url('/test'),
        '-frames:v',
        '1',
        '-f',
        'rawvideo',
        '-',
      ],
      20_000,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(firstUnitMs.length).toBeGreaterThan(0);
    const worst = Math.max(...firstUnitMs);
    console.log(
      `PLAY → first access unit sent: max ${worst.toFixed(1)} ms over ${firstUnitMs.length} sessions; ` +
        `ffmpeg start → first decoded frame: ${run.firstOutputMs?.toFixed(0)} ms`,
    );
    expect(worst).toBeLessThan(1_000);
    expect(run.firstOutputMs).toBeLessThan(3_000);
  });
});

describe('RTSP protocol answers', () => {
  it('answers OPTIONS, DESCRIBE and the errors with their codes, echoing CSeq', async () => {
    const client = await RawRtspClient.open(server.port);
    const url = server.url('/test');
    try {
      const options = await client.request('OPTIONS', url);
      expect(options.status).toBe(200);
      expect(options.headers.get('cseq')).toBe('1');
      expect(options.headers.get('public')).toContain('GET_PARAMETER');

      const describe = await client.request('DESCRIBE', url, { Accept: 'application/sdp' });
      expect(describe.status).toBe(200);
      expect(describe.headers.get('content-type')).toBe('application/sdp');
      expect(describe.headers.get('content-base')).toBe(`${url}/`);
      expect(describe.body).toContain('a=rtpmap:96 H264/90000');

      expect((await client.request('DESCRIBE', server.url('/nope'))).status).toBe(404);
      expect((await client.request('PLAY', url, { Session: 'DEADBEEF' })).status).toBe(454);
      expect((await client.request('PLAY', url)).status).toBe(454);
      expect(
        (await client.request('SETUP', `${url}/trackID=0`, { Transport: 'RTP/AVP;multicast' })).status,
      ).toBe(461);
      expect((await client.request('RECORD', url)).status).toBe(405);
      expect((await client.request('FLY', url)).status).toBe(501);
      expect((await client.request('GET', url)).status).toBe(501);
      const required = await client.request('DESCRIBE', url, { Require: 'funky-feature' });
      expect(required.status).toBe(551);
      expect(required.headers.get('unsupported')).toBe('funky-feature');

      const setup = await client.request('SETUP', `${url}/trackID=0`, {
        Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      });
      expect(setup.status).toBe(200);
      expect(setup.headers.get('transport')).toMatch(
        /^RTP\/AVP\/TCP;unicast;interleaved=0-1;ssrc=[0-9A-F]{8}/,
      );
      const session = setup.headers.get('session')!;
      expect(session).toMatch(/^[0-9A-F]{16};timeout=60$/);
      const id = session.split(';')[0]!;
      expect((await client.request('PAUSE', url, { Session: id })).status).toBe(455);
      expect((await client.request('SETUP', server.url('/other/trackID=0'), { Session: id })).status).toBe(
        404,
      );

      const play = await client.request('PLAY', url, { Session: id });
      expect(play.status).toBe(200);
      expect(play.headers.get('rtp-info')).toMatch(
        new RegExp(`^url=${url}/trackID=0;seq=\\d+;rtptime=\\d+$`),
      );
      await expect.poll(() => client.interleavedFrames, { timeout: 5_000 }).toBeGreaterThan(10);
      expect((await client.request('GET_PARAMETER', url, { Session: id })).status).toBe(200);
      expect((await client.request('SETUP', `${url}/trackID=0`, { Session: id })).status).toBe(455);
      expect((await client.request('TEARDOWN', url, { Session: id })).status).toBe(200);
      expect((await client.request('GET_PARAMETER', url, { Session: id })).status).toBe(454);
    } finally {
      client.close();
    }
    await expect.poll(() => live.subscriberCount, { timeout: 5_000 }).toBe(0);
  });

  it('sends RTP and RTCP over UDP to the client ports, past the RTSP connection, until TEARDOWN', async () => {
    const rtp = createSocket('udp4');
    const rtcp = createSocket('udp4');
    await Promise.all([
      once(rtp.bind(0, '127.0.0.1'), 'listening'),
      once(rtcp.bind(0, '127.0.0.1'), 'listening'),
    ]);
    const received = { rtp: 0, rtcp: 0 };
    rtp.on('message', () => received.rtp++);
    rtcp.on('message', (packet: Buffer) => {
      if (packet[1] === 200) received.rtcp++;
    });
    const url = server.url('/test');
    const first = await RawRtspClient.open(server.port);
    const second = await RawRtspClient.open(server.port);
    try {
      const setup = await first.request('SETUP', `${url}/trackID=0`, {
        Transport: `RTP/AVP;unicast;client_port=${rtp.address().port}-${rtcp.address().port}`,
      });
      expect(setup.status).toBe(200);
      const serverPorts = /server_port=(\d+)-(\d+)/.exec(setup.headers.get('transport') ?? '');
      expect(Number(serverPorts?.[1]) % 2).toBe(0);
      expect(Number(serverPorts?.[2])).toBe(Number(serverPorts?.[1]) + 1);
      const id = setup.headers.get('session')!.split(';')[0]!;
      expect((await first.request('PLAY', url, { Session: id })).status).toBe(200);
      await expect.poll(() => received.rtp, { timeout: 5_000 }).toBeGreaterThan(5);
      expect(received.rtcp).toBeGreaterThan(0);
      first.close();
      const before = received.rtp;
      await expect.poll(() => received.rtp, { timeout: 5_000 }).toBeGreaterThan(before + 5);
      expect((await second.request('TEARDOWN', url, { Session: id })).status).toBe(200);
      await expect.poll(() => live.subscriberCount, { timeout: 5_000 }).toBe(0);
    } finally {
      first.close();
      second.close();
      rtp.close();
      rtcp.close();
    }
  });

  it('answers an oversized request header with 400 and closes', async () => {
    const client = await RawRtspClient.open(server.port);
    const response = await client.send(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Padding: ${'a'.repeat(9_000)}`);
    expect(response.status).toBe(400);
    await client.whenClosed();
  });

  it('refuses a ninth session on one connection', async () => {
    const client = await RawRtspClient.open(server.port);
    const track = `${server.url('/test')}/trackID=0`;
    try {
      for (let i = 0; i < 8; i++) {
        expect((await client.request('SETUP', track, { Transport: 'RTP/AVP/TCP;unicast' })).status).toBe(200);
      }
      expect((await client.request('SETUP', track, { Transport: 'RTP/AVP/TCP;unicast' })).status).toBe(453);
    } finally {
      client.close();
    }
  });

  it('fails to start on a port already taken', async () => {
    await expect(
      startRtspServer({
        host: '127.0.0.1',
        port: server.port,
        resolve: () => undefined,
        logger: silentLogger(),
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });

  it('tears down a session whose client goes quiet for the session timeout', async () => {
    const impatient = await startRtspServer({
      host: '127.0.0.1',
      port: 0,
      resolve: () => live,
      logger: silentLogger(),
      sessionTimeoutMs: 1_000,
    });
    const client = await RawRtspClient.open(impatient.port);
    const url = impatient.url('/test');
    try {
      const setup = await client.request('SETUP', `${url}/trackID=0`, {
        Transport: 'RTP/AVP/TCP;interleaved=0-1',
      });
      const id = setup.headers.get('session')!.split(';')[0]!;
      expect((await client.request('PLAY', url, { Session: id })).status).toBe(200);
      await expect.poll(() => live.subscriberCount).toBe(1);
      expect(setup.headers.get('session')).toMatch(/;timeout=1$/);
      // Nothing more from the client: after 1 s the session ends and the encode stops.
      await expect.poll(() => live.subscriberCount, { timeout: 5_000 }).toBe(0);
      expect((await client.request('GET_PARAMETER', url, { Session: id })).status).toBe(454);
    } finally {
      client.close();
      await impatient.stop();
    }
  });
});

describe('RTSP digest authentication', () => {
  let guarded: RtspServer;
  const guardedLog: string[] = [];
  beforeAll(async () => {
    guarded = await startRtspServer({
      host: '127.0.0.1',
      port: 0,
      resolve: (path) => (path === '/test' ? live : undefined),
      credentials: { username: 'viewer', password: 'pa ss:w0rd' },
      logger: pino({ level: 'debug' }, { write: (line: string) => void guardedLog.push(line) }),
    });
  });
  afterAll(async () => {
    await guarded?.stop();
  });

  const probe = (url: string) =>
    runProgram(ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', url], 20_000);

  it('lets ffprobe in with the right user and password only', async () => {
    const url = guarded.url('/test');
    const withCredentials = url.replace('rtsp://', `rtsp://viewer:${encodeURIComponent('pa ss:w0rd')}@`);
    const wrong = url.replace('rtsp://', 'rtsp://viewer:nope@');
    const [good, none, bad] = await Promise.all([probe(withCredentials), probe(url), probe(wrong)]);
    expect(good.stdout.trim(), good.stderr).toBe('h264');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/401|Unauthorized/);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/401|Unauthorized/);
  });

  it('challenges with Digest and still answers OPTIONS without credentials', async () => {
    const client = await RawRtspClient.open(guarded.port);
    try {
      expect((await client.request('OPTIONS', guarded.url('/test'))).status).toBe(200);
      const describe = await client.request('DESCRIBE', guarded.url('/test'));
      expect(describe.status).toBe(401);
      expect(describe.headers.get('www-authenticate')).toMatch(/^Digest realm="[^"]+", nonce="[0-9a-f]{32}"/);
    } finally {
      client.close();
    }
  });

  it('a header sniffed on one connection opens neither another connection nor another path', async () => {
    const [first, second] = [await RawRtspClient.open(guarded.port), await RawRtspClient.open(guarded.port)];
    try {
      const url = guarded.url('/test');
      const challenge = (await first.request('DESCRIBE', url)).headers.get('www-authenticate')!;
      const [, realm, nonce] = /realm="([^"]+)", nonce="([^"]+)"/.exec(challenge)!;
      const ha1 = md5Hex(`viewer:${realm}:pa ss:w0rd`);
      const authorization =
        `Digest username="viewer", realm="${realm}", nonce="${nonce}", uri="${url}", ` +
        `response="${md5Hex(`${ha1}:${nonce}:${md5Hex(`DESCRIBE:${url}`)}`)}"`;
      expect((await first.request('DESCRIBE', url, { Authorization: authorization })).status).toBe(200);
      expect((await second.request('DESCRIBE', url, { Authorization: authorization })).status).toBe(401);
      expect(
        (await first.request('DESCRIBE', guarded.url('/test/sub'), { Authorization: authorization })).status,
      ).toBe(401);
    } finally {
      first.close();
      second.close();
    }
  });

  it.skipIf(!gstLaunch)('lets GStreamer rtspsrc in with user-id and user-pw', async () => {
    const logFrom = guardedLog.length;
    const run = await runProgram(
      gstLaunch!,
      [
        ...['rtspsrc', `location=${guarded.url('/test')}`, 'user-id=viewer', 'user-pw=pa ss:w0rd'],
        ...['protocols=tcp', '!', 'rtph264depay', '!', 'h264parse', '!', 'avdec_h264', '!', 'fakesink'],
        'num-buffers=15',
      ],
      30_000,
    );
    expect(gstTrouble(run), `server: ${guardedLog.slice(logFrom).join('')}`).toBeUndefined();
  });
});
