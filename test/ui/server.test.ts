import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceEvent } from '../../src/events/schemas.js';
import { ConsoleConfigError, type ConsoleServer, startConsoleServer } from '../../src/ui/server.js';
import { MultipartJpegParser } from '../../src/ui/static/live-stream.js';
import { CLIP_FIXTURE, DAY, FakeBackend, makeFrames } from './fake-backend.js';
import { openStream, parseSse, postJson, request } from './http-client.js';

const TOKEN = 'test-token-0123456789abcdef';
let frames: Buffer[];

beforeAll(async () => {
  frames = await makeFrames(4, 160, 90);
});

const running: Array<{ server: ConsoleServer; backend: FakeBackend }> = [];

async function start(options: Partial<Parameters<typeof startConsoleServer>[0]> = {}) {
  const backend = new FakeBackend({ frames, fps: 20 });
  const server = await startConsoleServer({ backend, port: 0, ...options });
  running.push({ server, backend });
  return { server, backend, base: server.url.replace(/\/$/, '') };
}

afterEach(async () => {
  for (const { server, backend } of running.splice(0)) {
    await server.stop();
    backend.stop();
  }
});

describe('starting the console', () => {
  it('refuses a non-loopback host without a token, naming the host and the fix', async () => {
    const backend = new FakeBackend({ frames: [] });
    const attempt = startConsoleServer({ backend, host: '0.0.0.0', port: 0 });
    await expect(attempt).rejects.toThrow(ConsoleConfigError);
    await expect(attempt).rejects.toThrow(/"0\.0\.0\.0".*token/);
  });

  it('rejects a weak token without echoing it', async () => {
    const backend = new FakeBackend({ frames: [] });
    const attempt = startConsoleServer({ backend, port: 0, token: 'short' });
    await expect(attempt).rejects.toThrow(/console token \(hidden\) is invalid: must be 16-256/);
    await expect(attempt).rejects.not.toThrow(/short/);
  });

  it('rejects a bad port and reports a port in use clearly', async () => {
    const backend = new FakeBackend({ frames: [] });
    await expect(startConsoleServer({ backend, port: 70_000 })).rejects.toThrow(
      /console port 70000 is invalid/,
    );
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startConsoleServer({ backend, port })).rejects.toThrow(
        new RegExp(`console port ${port} on 127\\.0\\.0\\.1 is already in use`),
      );
    } finally {
      blocker.close();
    }
  });

  it('stops idempotently and ends open event streams', async () => {
    const { server, base } = await start();
    const events = await openStream(`${base}/api/events`);
    await server.stop();
    await events.ended;
    await server.stop();
    await expect(request(`${base}/api/state`)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('the page and its assets', () => {
  it('serves the page and scripts with security headers and correct types', async () => {
    const { base } = await start();
    const page = await request(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.text).toContain('<script type="module" src="/app.js"></script>');
    for (const [path, type] of [
      ['/app.js', 'text/javascript'],
      ['/live-stream.js', 'text/javascript'],
      ['/format.js', 'text/javascript'],
      ['/app.css', 'text/css'],
      ['/favicon.svg', 'image/svg+xml'],
    ] as const) {
      const asset = await request(`${base}${path}`);
      expect(asset.status, path).toBe(200);
      expect(asset.headers['content-type'], path).toContain(type);
    }
  });

  it('answers unknown paths with 404 JSON and wrong methods with 405 + Allow', async () => {
    const { base } = await start();
    const missing = await request(`${base}/../../etc/passwd`);
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'not-found' } });
    expect(missing.headers['x-content-type-options']).toBe('nosniff');
    const wrong = await request(`${base}/api/press`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    const deleteState = await request(`${base}/api/state`, { method: 'DELETE' });
    expect(deleteState.status).toBe(405);
  });

  it('refuses requests addressed to another host name (DNS rebinding)', async () => {
    const { base, server } = await start();
    const rebound = await request(`${base}/api/state`, { headers: { Host: `evil.example:${server.port}` } });
    expect(rebound.status).toBe(403);
    expect(rebound.json()).toMatchObject({ error: { code: 'bad-host' } });
    const localhost = await request(`${base}/api/state`, { headers: { Host: `localhost:${server.port}` } });
    expect(localhost.status).toBe(200);
  });
});

describe('API', () => {
  it('reports state with the backend clock', async () => {
    const { base, backend } = await start();
    const state = (await request(`${base}/api/state`)).json() as Record<string, unknown>;
    expect(state['deviceId']).toBe('front-door');
    expect(state['state']).toEqual(backend.state());
    expect(Math.abs(Date.parse(state['now'] as string) - Date.now())).toBeLessThan(5000);
  });

  it('rings, and tells why a press did not ring', async () => {
    const { base, backend } = await start();
    backend.chimeWindowMs = 60_000;
    expect((await postJson(`${base}/api/press`, {})).json()).toEqual({ rang: true });
    expect((await postJson(`${base}/api/press`, {})).json()).toEqual({ rang: false, reason: 'chime-window' });
    expect(backend.calls.filter((c) => c.method === 'press')).toHaveLength(2);
  });

  it('changes sensitivity and motion detection', async () => {
    const { base, backend } = await start();
    const sensitivity = await postJson(`${base}/api/sensitivity`, { sensitivity: 'high' });
    expect(sensitivity.json()).toEqual({ sensitivity: 'high' });
    const motion = await postJson(`${base}/api/motion`, { enabled: false });
    expect(motion.json()).toEqual({ motionEnabled: false });
    expect(backend.calls).toEqual([
      { method: 'setSensitivity', args: ['high'] },
      { method: 'setMotionEnabled', args: [false] },
    ]);
  });

  it('rejects bad input with a clear JSON error and never calls the backend', async () => {
    const { base, backend } = await start();
    const cases: Array<[Promise<import('./http-client.js').HttpResult>, number, string, RegExp]> = [
      [
        postJson(`${base}/api/sensitivity`, { sensitivity: 'extreme' }),
        400,
        'invalid-body',
        /^sensitivity: /,
      ],
      [postJson(`${base}/api/motion`, { enabled: 'yes' }), 400, 'invalid-body', /^enabled: /],
      [postJson(`${base}/api/motion`, { enabled: true, admin: 1 }), 400, 'invalid-body', /admin/],
      [postJson(`${base}/api/press`, []), 400, 'invalid-body', /body: /],
      [
        request(`${base}/api/press`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: '{"a":',
        }),
        400,
        'invalid-json',
        /not valid JSON/,
      ],
      [
        request(`${base}/api/press`, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain' },
          body: '{}',
        }),
        415,
        'unsupported-media-type',
        /Content-Type: application\/json/,
      ],
      [
        postJson(`${base}/api/motion`, { enabled: true, pad: 'x'.repeat(5000) }),
        413,
        'body-too-large',
        /4096/,
      ],
      [
        postJson(`${base}/api/press`, {}, { Origin: 'http://evil.example' }),
        403,
        'cross-origin',
        /evil\.example/,
      ],
    ];
    for (const [pending, status, code, message] of cases) {
      const response = await pending;
      expect(response.status, response.text).toBe(status);
      const body = response.json() as { error: { code: string; message: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message).toMatch(message);
    }
    expect(backend.calls).toEqual([]);
  });

  it('answers a backend failure with 500 and keeps serving', async () => {
    const { base, backend } = await start();
    backend.press = () => {
      throw new Error('boom');
    };
    const failed = await postJson(`${base}/api/press`, {});
    expect(failed.status).toBe(500);
    expect(failed.json()).toMatchObject({ error: { code: 'internal' } });
    expect((await request(`${base}/api/state`)).status).toBe(200);
  });
});

describe('clips', () => {
  const fixture = readFileSync(CLIP_FIXTURE);

  it('lists clips with time left until retention deletes them', async () => {
    const { base, backend } = await start();
    backend.addClip({ clipId: 'clip-1', trigger: 'ding', retainForMs: 2 * DAY });
    backend.addClip({ clipId: 'clip-2', trigger: 'motion', encrypted: true });
    const list = (await request(`${base}/api/clips`)).json() as {
      clips: Array<{ clipId: string; retainsForMs: number; playable: boolean }>;
    };
    expect(list.clips.map((c) => [c.clipId, c.playable])).toEqual([
      ['clip-1', true],
      ['clip-2', false],
    ]);
    expect(list.clips[0]!.retainsForMs).toBeGreaterThan(2 * DAY - 5000);
    expect(list.clips[0]!.retainsForMs).toBeLessThanOrEqual(2 * DAY);
  });

  it('streams the MP4 whole and by byte range, so <video> can seek', async () => {
    const { base, backend } = await start();
    backend.addClip({ clipId: 'clip-1', trigger: 'ding' });
    const url = `${base}/api/clips/clip-1`;
    const whole = await request(url);
    expect(whole.status).toBe(200);
    expect(whole.headers['content-type']).toBe('video/mp4');
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.body.equals(fixture)).toBe(true);

    const first = await request(url, { headers: { Range: 'bytes=0-99' } });
    expect(first.status).toBe(206);
    expect(first.headers['content-range']).toBe(`bytes 0-99/${fixture.length}`);
    expect(first.body.equals(fixture.subarray(0, 100))).toBe(true);

    const middle = await request(url, { headers: { Range: 'bytes=70000-' } });
    expect(middle.status).toBe(206);
    expect(middle.body.equals(fixture.subarray(70000))).toBe(true);

    const tail = await request(url, { headers: { Range: 'bytes=-500' } });
    expect(tail.body.equals(fixture.subarray(fixture.length - 500))).toBe(true);

    const beyond = await request(url, { headers: { Range: `bytes=${fixture.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${fixture.length}`);

    const head = await request(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(fixture.length));
    expect(head.body.length).toBe(0);
  });

  it('refuses unknown, malformed and encrypted clips', async () => {
    const { base, backend } = await start();
    backend.addClip({ clipId: 'secret', trigger: 'motion', encrypted: true });
    expect((await request(`${base}/api/clips/nope`)).status).toBe(404);
    const traversal = await request(`${base}/api/clips/..%2F..%2Fetc%2Fpasswd`);
    expect(traversal.status).toBe(400);
    expect(traversal.json()).toMatchObject({ error: { code: 'bad-clip-id' } });
    expect((await request(`${base}/api/clips/%E0%A4%A`)).status).toBe(400);
    const encrypted = await request(`${base}/api/clips/secret`);
    expect(encrypted.status).toBe(409);
    expect(encrypted.json()).toMatchObject({ error: { code: 'clip-encrypted' } });
  });
});

describe('event stream', () => {
  it('greets with state and recent events, then streams events as they happen', async () => {
    const { base, backend } = await start();
    backend.motion('start');
    backend.motion('update');
    backend.motion('end');
    const stream = await openStream(`${base}/api/events`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toContain('text/event-stream');
    await stream.waitFor((b) => b.includes('event: hello'));
    const hello = JSON.parse(parseSse(stream.received().toString())[0]!.data) as {
      state: { deviceId: string };
      recent: DeviceEvent[];
    };
    expect(hello.state.deviceId).toBe('front-door');
    // Updates and state changes stay out of the replayed timeline.
    expect(hello.recent.map((e) => (e.kind === 'motion' ? e.payload.type : e.kind))).toEqual([
      'start',
      'end',
    ]);

    await postJson(`${base}/api/press`, {});
    await stream.waitFor((b) => b.includes('"kind":"ding"'));
    const streamed = parseSse(stream.received().toString())
      .filter((e) => e.event === 'message')
      .map((e) => (JSON.parse(e.data) as DeviceEvent).kind);
    expect(streamed).toEqual(['ding', 'state']);
    stream.close();
  });

  it('bounds the number of clients', async () => {
    const { base } = await start({ maxEventClients: 1 });
    const first = await openStream(`${base}/api/events`);
    await first.waitFor((b) => b.includes('hello'));
    const second = await request(`${base}/api/events`);
    expect(second.status).toBe(503);
    expect(second.json()).toMatchObject({ error: { code: 'too-many-clients' } });
    first.close();
    await first.ended;
    // The server frees the slot when it sees the close, which may come just after our end.
    await expect
      .poll(async () => {
        const third = await openStream(`${base}/api/events`);
        third.close();
        return third.status;
      })
      .toBe(200);
  });
});

describe('live view', () => {
  it('streams JPEG frames as multipart MJPEG and subscribes only while watched', async () => {
    const { base, backend } = await start();
    expect(backend.frameSubscribers).toBe(0);
    const live = await openStream(`${base}/api/live`);
    expect(live.status).toBe(200);
    expect(live.headers['content-type']).toBe('multipart/x-mixed-replace; boundary=doorbellframe');
    const received: Uint8Array[] = [];
    const parser = new MultipartJpegParser((jpeg) => received.push(jpeg));
    live.onData((chunk) => parser.push(chunk));
    await live.waitFor(() => received.length >= 3);
    for (const jpeg of received) {
      expect(frames.some((frame) => frame.equals(Buffer.from(jpeg)))).toBe(true);
    }
    expect(backend.frameSubscribers).toBe(1);
    live.close();
    await live.ended;
    await expect.poll(() => backend.frameSubscribers).toBe(0);
  });

  it('serves a single frame and bounds live clients', async () => {
    const { base } = await start({ maxLiveClients: 1 });
    const still = await request(`${base}/api/frame.jpg`);
    expect(still.status).toBe(200);
    expect(still.headers['content-type']).toBe('image/jpeg');
    expect(frames.some((frame) => frame.equals(still.body))).toBe(true);
    const live = await openStream(`${base}/api/live`);
    expect((await request(`${base}/api/live`)).status).toBe(503);
    live.close();
  });
});

describe('token', () => {
  it('needs the token on every request; ?token= once sets an HttpOnly SameSite=Strict cookie', async () => {
    const { base, server } = await start({ token: TOKEN });
    expect(server.openUrl).toBe(`${server.url}?token=${TOKEN}`);
    const anonymous = await request(`${base}/api/state`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json()).toMatchObject({ error: { code: 'token-required' } });
    const wrong = await request(`${base}/api/state`, {
      headers: { Authorization: 'Bearer wrong-token-wrong-token' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json()).toMatchObject({ error: { code: 'bad-token' } });
    expect((await request(`${base}/`)).status).toBe(401);

    const login = await request(server.openUrl);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    const cookie = login.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const pair = cookie.split(';')[0]!;
    expect((await request(`${base}/`, { headers: { Cookie: pair } })).status).toBe(200);
    expect(
      (await request(`${base}/api/state`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(200);
    expect((await postJson(`${base}/api/press`, {}, { Cookie: pair })).json()).toEqual({ rang: true });
  });

  it('with a token, listens beyond loopback', async () => {
    const { server } = await start({ host: '0.0.0.0', token: TOKEN });
    expect(server.url).toBe(`http://0.0.0.0:${server.port}/`);
    const state = await request(`http://127.0.0.1:${server.port}/api/state`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(state.status).toBe(200);
  });
});

afterAll(() => {
  for (const { backend } of running) backend.stop();
});
