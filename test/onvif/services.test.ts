import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import type { DeviceEvent } from '../../src/events/schemas.js';
import { DEVICE_OPERATIONS } from '../../src/onvif/device-service.js';
import { OnvifEvents } from '../../src/onvif/event-service.js';
import { MEDIA_OPERATIONS } from '../../src/onvif/media-service.js';
import { MOTION_TOPIC, notificationsOf, VISITOR_TOPIC } from '../../src/onvif/notifications.js';
import type { OperationTable, ServiceContext } from '../../src/onvif/service-context.js';
import {
  children,
  parseEnvelope,
  SoapFault,
  soapEnvelope,
  textAt,
  type XmlNode,
} from '../../src/onvif/soap.js';
import { deviceStreamSpecs } from '../../src/stream/device-streams.js';

const context = (overrides: Partial<ServiceContext> = {}): ServiceContext => ({
  device: { deviceId: 'porch', manufacturer: 'Acme', model: 'D1', firmwareVersion: '1.2.3' },
  streams: deviceStreamSpecs({ resolution: { width: 1920, height: 1080 }, fps: 30 }),
  origin: 'http://192.0.2.7:8000',
  endpoint: 'urn:uuid:00000000-0000-5000-8000-000000000000',
  now: Date.UTC(2026, 11, 4, 12, 30, 15),
  rtspUris: { main: 'rtsp://192.0.2.7:8554/porch', sub: 'rtsp://192.0.2.7:8554/porch/sub' },
  snapshotUri: 'http://192.0.2.7:8080/porch/snapshot.jpg',
  closed: new AbortController().signal,
  ...overrides,
});

/** Calls an operation as the server does and reads the response body back with the same parser. */
async function answer(table: OperationTable, action: string, args = '', ctx = context()): Promise<XmlNode> {
  const request = parseEnvelope(
    `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><${action}>${args}</${action}></s:Body></s:Envelope>`,
  );
  const body = await table[request.action]!(request, ctx);
  return parseEnvelope(soapEnvelope(body)).body;
}

async function faultOf(
  table: OperationTable,
  action: string,
  args = '',
  ctx = context(),
): Promise<SoapFault> {
  try {
    await answer(table, action, args, ctx);
  } catch (error) {
    expect(error).toBeInstanceOf(SoapFault);
    return error as SoapFault;
  }
  throw new Error('no fault');
}

describe('device service', () => {
  it('tells the time in UTC, the device information from the profile, the services at the client’s origin', async () => {
    const time = await answer(DEVICE_OPERATIONS, 'GetSystemDateAndTime');
    expect(textAt(time, 'SystemDateAndTime', 'UTCDateTime', 'Time', 'Minute')).toBe('30');
    expect(textAt(time, 'SystemDateAndTime', 'UTCDateTime', 'Date', 'Month')).toBe('12');
    const info = await answer(DEVICE_OPERATIONS, 'GetDeviceInformation');
    expect(textAt(info, 'FirmwareVersion')).toBe('1.2.3');
    const services = await answer(
      DEVICE_OPERATIONS,
      'GetServices',
      '<IncludeCapability>false</IncludeCapability>',
    );
    expect(children(services, 'Service').map((service) => textAt(service, 'XAddr'))).toEqual([
      'http://192.0.2.7:8000/onvif/device_service',
      'http://192.0.2.7:8000/onvif/media_service',
      'http://192.0.2.7:8000/onvif/events_service',
    ]);
    expect((await faultOf(DEVICE_OPERATIONS, 'GetCapabilities', '<Category>PTZ</Category>')).subcode).toBe(
      'ter:NoSuchService',
    );
  });

  it('reports one interface at the client’s address, and the HTTP and RTSP ports', async () => {
    const interfaces = await answer(DEVICE_OPERATIONS, 'GetNetworkInterfaces');
    expect(textAt(interfaces, 'NetworkInterfaces', 'IPv4', 'Config', 'Manual', 'Address')).toBe('192.0.2.7');
    const protocols = await answer(DEVICE_OPERATIONS, 'GetNetworkProtocols');
    expect(
      children(protocols, 'NetworkProtocols').map((p) => `${textAt(p, 'Name')}:${textAt(p, 'Port')}`),
    ).toEqual(['HTTP:8000', 'RTSP:8554']);
  });
});

describe('media service', () => {
  it('offers main and sub at the stream sizes, with their encoder options', async () => {
    const profiles = children(await answer(MEDIA_OPERATIONS, 'GetProfiles'), 'Profiles');
    expect(profiles.map((p) => textAt(p, 'VideoEncoderConfiguration', 'Resolution', 'Width'))).toEqual([
      '1920',
      '640',
    ]);
    const options = await answer(
      MEDIA_OPERATIONS,
      'GetVideoEncoderConfigurationOptions',
      '<ProfileToken>sub</ProfileToken>',
    );
    expect(textAt(options, 'Options', 'H264', 'ResolutionsAvailable', 'Height')).toBe('360');
    expect(textAt(options, 'Options', 'H264', 'GovLengthRange', 'Max')).toBe('30');
    const encoder = await answer(
      MEDIA_OPERATIONS,
      'GetVideoEncoderConfiguration',
      '<ConfigurationToken>VideoEncoder_sub</ConfigurationToken>',
    );
    expect(textAt(encoder, 'Configuration', 'Name')).toBe('sub');
  });

  it('hands out the stream and snapshot URIs, and faults for what it cannot give', async () => {
    const uri = (node: XmlNode) => textAt(node, 'MediaUri', 'Uri');
    expect(uri(await answer(MEDIA_OPERATIONS, 'GetStreamUri', '<ProfileToken>sub</ProfileToken>'))).toBe(
      'rtsp://192.0.2.7:8554/porch/sub',
    );
    expect(uri(await answer(MEDIA_OPERATIONS, 'GetSnapshotUri', '<ProfileToken>main</ProfileToken>'))).toBe(
      'http://192.0.2.7:8080/porch/snapshot.jpg',
    );
    expect((await faultOf(MEDIA_OPERATIONS, 'GetStreamUri', '<ProfileToken>4k</ProfileToken>')).message).toBe(
      'no profile "4k" (the profiles are main and sub)',
    );
    const multicast =
      '<StreamSetup><Stream>RTP-Multicast</Stream></StreamSetup><ProfileToken>main</ProfileToken>';
    expect((await faultOf(MEDIA_OPERATIONS, 'GetStreamUri', multicast)).subcode).toBe(
      'ter:InvalidStreamSetup',
    );
    const noRtsp = await faultOf(
      MEDIA_OPERATIONS,
      'GetStreamUri',
      '<ProfileToken>main</ProfileToken>',
      context({ rtspUris: undefined }),
    );
    expect(noRtsp.message).toMatch(/--rtsp-port/);
    const noConsole = await faultOf(
      MEDIA_OPERATIONS,
      'GetSnapshotUri',
      '<ProfileToken>main</ProfileToken>',
      context({ snapshotUri: undefined }),
    );
    expect(noConsole.message).toMatch(/--ui/);
  });
});

describe('events from the device bus', () => {
  const at = '2026-12-04T12:00:00.000Z';
  const event = (kind: string, payload: Record<string, unknown>) =>
    ({ kind, payload: { at, ...payload } }) as unknown as DeviceEvent;

  it('maps motion start/end and a ring and its end; motion updates, clips and state make nothing', () => {
    expect(notificationsOf(event('motion', { type: 'start' }))).toEqual([
      { property: 'motion', state: true, utcTime: at, operation: 'Changed' },
    ]);
    expect(notificationsOf(event('motion', { type: 'end' }))[0]!.state).toBe(false);
    expect(notificationsOf(event('ding', {}))[0]).toMatchObject({ property: 'visitor', state: true });
    expect(notificationsOf(event('ding-ended', {}))[0]).toMatchObject({ property: 'visitor', state: false });
    for (const quiet of [event('motion', { type: 'update' }), event('clip', {}), event('state', {})])
      expect(notificationsOf(quiet)).toEqual([]);
  });

  it('a subscription starts with the current state, then gets what the bus brings, in the documented XML', async () => {
    const clock = new VirtualClock(Date.parse(at));
    const events = new OnvifEvents(clock, { motion: false, visitor: false });
    events.onDeviceEvent(event('ding', {}));
    const created = await answer(
      events.operations,
      'CreatePullPointSubscription',
      '<InitialTerminationTime>PT10S</InitialTerminationTime>',
    );
    const address = textAt(created, 'SubscriptionReference', 'Address')!;
    expect(address).toMatch(/^http:\/\/192\.0\.2\.7:8000\/onvif\/pull_point\/[0-9a-f-]{36}$/);
    expect(textAt(created, 'TerminationTime')).toBe('2026-12-04T12:00:10.000Z');
    const pull = events.pullPointOperations(address.split('/').at(-1)!);
    const messages = async () =>
      children(
        await answer(pull, 'PullMessages', '<Timeout>PT0S</Timeout><MessageLimit>10</MessageLimit>'),
        'NotificationMessage',
      ).map((message) => `${textAt(message, 'Topic')} ${JSON.stringify(message)}`);
    const initial = await messages();
    expect(initial).toHaveLength(2);
    expect(initial[0]).toContain(`${MOTION_TOPIC} `);
    expect(initial[0]).toContain('"@_PropertyOperation":"Initialized"');
    expect(initial[1]).toContain(`${VISITOR_TOPIC} `);
    expect(initial[1]).toContain('"@_Name":"State","@_Value":"true"');
    events.onDeviceEvent(event('motion', { type: 'start' }));
    const [changed] = await messages();
    expect(changed).toContain(`${MOTION_TOPIC} `);
    expect(changed).toContain('"@_PropertyOperation":"Changed"');
    expect(changed).toContain('"@_Name":"Source","@_Value":"VideoSource_1"');
    await answer(pull, 'Unsubscribe');
    await expect(answer(pull, 'Renew', '<TerminationTime>PT1M</TerminationTime>')).rejects.toThrow(
      /no subscription/,
    );
    events.close();
  });

  it('refuses a bad Timeout, MessageLimit or termination time, naming the value', async () => {
    const events = new OnvifEvents(new VirtualClock(), { motion: false, visitor: false });
    const bad = await faultOf(
      events.operations,
      'CreatePullPointSubscription',
      '<InitialTerminationTime>P1Y</InitialTerminationTime>',
    );
    expect(bad.message).toBe('InitialTerminationTime "P1Y" is not a duration or a future time');
    const created = await answer(events.operations, 'CreatePullPointSubscription');
    const pull = events.pullPointOperations(
      textAt(created, 'SubscriptionReference', 'Address')!.split('/').at(-1)!,
    );
    expect(
      (await faultOf(pull, 'PullMessages', '<Timeout>soon</Timeout><MessageLimit>1</MessageLimit>')).message,
    ).toBe('Timeout "soon" is not a duration');
    expect(
      (await faultOf(pull, 'PullMessages', '<Timeout>PT1S</Timeout><MessageLimit>0</MessageLimit>')).message,
    ).toBe('MessageLimit "0" is not 1 to 1000');
    events.close();
  });
});
