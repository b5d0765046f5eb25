/**
 * The agent as an ONVIF camera, met by a real client: the npm `onvif` package discovers it with a unicast probe,
 * connects with WS-UsernameToken credentials, reads the device information, profiles, stream and snapshot URIs;
 * ffprobe opens the RTSP URI it was given; a pull-point subscription sees MotionAlarm around the camera's own motion
 * and Visitor on a press, each within a second of the device event.
 */
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { agentStreamRoutes } from '../../src/agent/live-streams.js';
import type { DeviceEvent } from '../../src/events/schemas.js';
import { silentLogger } from '../../src/log/logger.js';
import { MOTION_TOPIC, VIDEO_SOURCE_TOKEN, VISITOR_TOPIC } from '../../src/onvif/notifications.js';
import { type ConsoleServer, startConsoleServer } from '../../src/ui/server.js';
import { locateFfmpeg } from '../../src/video/locate.js';
import { REPO_ROOT } from '../helpers/mqtt.js';
import { runProgram } from '../stream/helpers/clients.js';
import { FakeBackend } from '../ui/fake-backend.js';
import { type OnvifAgent, startOnvifAgent } from './helpers/onvif-agent.js';
import {
  type Cam,
  call,
  connectedCam,
  onvif,
  type ReceivedNotification,
  readNotification,
  redirectMulticastProbes,
} from './helpers/onvif-client.js';

const CREDENTIALS = { username: 'nvr', password: 'p&ss<word>"1' };
const { ffprobe } = locateFfmpeg();

let device: OnvifAgent;
let agent: Agent;
let consoleServer: ConsoleServer;
let announcements: Socket;
const announced: string[] = [];
/** Device events as the bus delivered them, with when. */
const busEvents: Array<{ event: DeviceEvent; atMs: number }> = [];

beforeAll(async () => {
  announcements = createSocket('udp4');
  announcements.on('message', (datagram) => announced.push(datagram.toString('utf8')));
  await new Promise<void>((resolve) => announcements.bind(0, '127.0.0.1', resolve));
  device = await startOnvifAgent({
    deviceId: 'front-door',
    credentials: CREDENTIALS,
    // The camera at the footage's own size; a short answer window so a ring ends (Visitor false) within the test.
    profile: {
      resolution: { width: 640, height: 360 },
      fps: 15,
      button: { debounceMs: 50, chimeWindowMs: 3000, answerWindowMs: 2000 },
    },
    video: join(REPO_ROOT, 'fixtures/video/person-crossing.mp4'),
    rtsp: true,
    announceTo: { address: '127.0.0.1', port: announcements.address().port },
  });
  agent = device.agent;
  agent.bus.subscribe((event) => busEvents.push({ event, atMs: performance.now() }));
  consoleServer = await startConsoleServer({
    backend: new FakeBackend({ frames: [] }),
    port: 0,
    streams: agentStreamRoutes(agent, silentLogger()),
  });
  agent.setLinkOrigin(consoleServer.url);
}, 30_000);

afterAll(async () => {
  await consoleServer?.stop();
  await device?.stop();
  announcements?.close();
});

function camOptions() {
  return { hostname: '127.0.0.1', port: agent.onvifService!.port!, ...CREDENTIALS };
}

describe('the doorbell as an ONVIF camera, seen by the npm onvif client', () => {
  it('says Hello when it starts', () => {
    const hello = announced.find((message) => message.includes('/discovery/Hello'));
    expect(hello).toContain(`http://127.0.0.1:${agent.onvifService!.port}/onvif/device_service`);
  });

  it('is discovered by a unicast probe, with the device service as its XAddr', async () => {
    const restore = redirectMulticastProbes({
      address: '127.0.0.1',
      port: agent.onvifService!.discoveryPort!,
    });
    let found: Cam[];
    try {
      found = await call<Cam[]>((done) => onvif.Discovery.probe({ timeout: 1500 }, done));
    } finally {
      restore();
    }
    expect(found).toHaveLength(1);
    const cam = found[0]!;
    expect(cam.xaddrs?.map((url) => url.href)).toEqual([
      `http://127.0.0.1:${agent.onvifService!.port}/onvif/device_service`,
    ]);
    expect(cam.hostname).toBe('127.0.0.1');
    expect(Number(cam.port)).toBe(agent.onvifService!.port);
  });

  it('reads the device information and both profiles', async () => {
    const cam = await connectedCam(camOptions());
    const info = await call<Record<string, unknown>>((done) => cam.getDeviceInformation(done));
    expect(info).toMatchObject({
      manufacturer: agent.profile.manufacturer,
      model: agent.profile.model,
      firmwareVersion: agent.profile.firmwareVersion,
      serialNumber: 'front-door',
    });
    expect(cam.profiles?.map((profile) => profile.$.token)).toEqual(['main', 'sub']);
    const [main, sub] = cam.profiles!;
    expect(main!.videoEncoderConfiguration).toMatchObject({
      encoding: 'H264',
      resolution: { width: 640, height: 360 },
      rateControl: { frameRateLimit: 15 },
    });
    expect(sub!.videoEncoderConfiguration).toMatchObject({ resolution: { width: 640, height: 360 } });
  });

  it('hands out the RTSP URIs and ffprobe opens the one it gets', async () => {
    const cam = await connectedCam(camOptions());
    const main = await call<{ uri: string }>((done) =>
      cam.getStreamUri({ protocol: 'RTSP', profileToken: 'main' }, done),
    );
    const sub = await call<{ uri: string }>((done) =>
      cam.getStreamUri({ protocol: 'RTSP', profileToken: 'sub' }, done),
    );
    const streams = agent.state().streams!;
    expect(main.uri).toBe(streams.rtsp!.main);
    expect(sub.uri).toBe(streams.rtsp!.sub);
    const run = await runProgram(
      ffprobe,
      ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', main.uri],
      30_000,
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('h264,640,360');
  }, 40_000);

  it('hands out the HTTP snapshot URI, which serves a JPEG', async () => {
    const cam = await connectedCam(camOptions());
    const snapshot = await call<{ uri: string }>((done) =>
      cam.getSnapshotUri({ profileToken: 'main' }, done),
    );
    expect(snapshot.uri).toBe(agent.state().streams!.snapshot);
    const response = await fetch(snapshot.uri);
    expect(response.status).toBe(200);
    expect(
      Buffer.from(await response.arrayBuffer())
        .subarray(0, 2)
        .toString('hex'),
    ).toBe('ffd8');
  }, 30_000);

  it('a pull point sees MotionAlarm true/false around a motion and Visitor on a press, each within 1 s', async () => {
    const cam = await connectedCam(camOptions());
    const properties = await call<Record<string, unknown>>((done) => cam.getEventProperties(done));
    // The client lower-cases the first letter of every element name.
    const state = {
      messageDescription: { data: { simpleItemDescription: { $: { Name: 'State', Type: 'xs:boolean' } } } },
    };
    expect(properties).toMatchObject({
      topicSet: { videoSource: { motionAlarm: state }, ruleEngine: { myRuleDetector: { visitor: state } } },
    });
    const received: ReceivedNotification[] = [];
    cam.on('event', (message) => received.push(readNotification(message)));
    const changed = (topic: string, state: string) =>
      received.find((n) => n.topic === topic && n.operation === 'Changed' && n.data.State === state);
    const busAt = (match: (event: DeviceEvent) => boolean) =>
      busEvents.find(({ event }) => match(event))?.atMs;
    const waitFor = async <T>(read: () => T | undefined, timeoutMs: number): Promise<T> => {
      const until = performance.now() + timeoutMs;
      for (;;) {
        const value = read();
        if (value !== undefined) return value;
        if (performance.now() > until) throw new Error('timed out');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    try {
      // The subscription starts with the current state of both properties.
      const initialized = await waitFor(() => (received.length >= 2 ? received : undefined), 5_000);
      expect(initialized.slice(0, 2).map((n) => [n.topic, n.operation])).toEqual([
        [MOTION_TOPIC, 'Initialized'],
        [VISITOR_TOPIC, 'Initialized'],
      ]);
      const since = busEvents.length;
      const fresh = (match: (event: DeviceEvent) => boolean) => () =>
        busEvents.slice(since).find(({ event }) => match(event))?.atMs;

      // The camera loops a person crossing the porch: motion starts and ends by itself.
      const startedAt = await waitFor(
        fresh((e) => e.kind === 'motion' && e.payload.type === 'start'),
        20_000,
      );
      const alarmOn = await waitFor(() => changed(MOTION_TOPIC, 'true'), 5_000);
      expect(alarmOn.source).toEqual({ Source: VIDEO_SOURCE_TOKEN });
      expect(alarmOn.atMs - startedAt).toBeLessThan(1000);
      const endedAt = await waitFor(
        fresh((e) => e.kind === 'motion' && e.payload.type === 'end'),
        20_000,
      );
      const alarmOff = await waitFor(() => changed(MOTION_TOPIC, 'false'), 5_000);
      expect(alarmOff.atMs - endedAt).toBeLessThan(1000);

      const outcome = agent.press('button');
      expect(outcome.accepted).toBe(true);
      const dingAt = await waitFor(() => busAt((e) => e.kind === 'ding'), 2_000);
      const visitor = await waitFor(() => changed(VISITOR_TOPIC, 'true'), 2_000);
      expect(visitor.source).toEqual({ Source: VIDEO_SOURCE_TOKEN });
      expect(visitor.atMs - dingAt).toBeLessThan(1000);
      // Nobody answers: the ring ends as missed after the answer window, and Visitor goes false.
      const ringEndedAt = await waitFor(() => busAt((e) => e.kind === 'ding-ended'), 5_000);
      const visitorGone = await waitFor(() => changed(VISITOR_TOPIC, 'false'), 2_000);
      expect(visitorGone.atMs - ringEndedAt).toBeLessThan(1000);
      const ms = (value: number) => Math.round(value);
      console.log(
        `ONVIF latency from the bus event, ms: MotionAlarm true ${ms(alarmOn.atMs - startedAt)}, false ` +
          `${ms(alarmOff.atMs - endedAt)}; Visitor true ${ms(visitor.atMs - dingAt)}, false ${ms(visitorGone.atMs - ringEndedAt)}`,
      );
    } finally {
      cam.removeAllListeners('event');
    }
  }, 60_000);

  it('says Bye when it stops', async () => {
    await agent.stop();
    const until = Date.now() + 2000;
    while (!announced.some((message) => message.includes('/discovery/Bye')) && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const bye = announced.find((message) => message.includes('/discovery/Bye'));
    const hello = announced.find((message) => message.includes('/discovery/Hello'));
    const address = (message: string | undefined) =>
      /<a:Address>([^<]+)<\/a:Address>/.exec(message ?? '')?.[1];
    expect(address(bye)).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(address(bye)).toBe(address(hello));
  });
});
