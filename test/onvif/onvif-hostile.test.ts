/**
 * Hostile ONVIF peers: wrong, stale and replayed credentials, malformed and oversized envelopes, entity bombs and
 * junk datagrams get a SOAP fault, a refusal or a closed connection — and the agent goes on answering.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { parseEnvelope, textAt } from '../../src/onvif/soap.js';
import { passwordDigest } from '../../src/onvif/ws-security.js';
import { type OnvifAgent, startOnvifAgent } from './helpers/onvif-agent.js';
import { call, connectedCam } from './helpers/onvif-client.js';

const CREDENTIALS = { username: 'nvr', password: 'right horse battery' };

let device: OnvifAgent;
let agent: Agent;

beforeAll(async () => {
  device = await startOnvifAgent({ deviceId: 'hostile', credentials: CREDENTIALS });
  agent = device.agent;
});

afterAll(async () => {
  await device?.stop();
});

interface Answer {
  status: number | undefined;
  body: string;
  /** The server closed the connection without (a whole) answer. */
  closed: boolean;
}

/** POSTs `body` (a string, or chunks streamed without a Content-Length) to the ONVIF server. */
function post(
  path: string,
  body: string | string[],
  headers: Record<string, string | number> = {},
): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: agent.onvifService!.port,
        path,
        method: 'POST',
        headers: { 'Content-Type': 'application/soap+xml; charset=utf-8', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode, body: text, closed: false }));
        res.on('error', () => resolve({ status: res.statusCode, body: text, closed: true }));
      },
    );
    req.on('error', () => resolve({ status: undefined, body: '', closed: true }));
    if (typeof body === 'string') req.end(body);
    else {
      const write = (i: number): void => {
        if (i === body.length || req.destroyed) {
          req.end();
          return;
        }
        req.write(body[i], () => write(i + 1));
      };
      write(0);
    }
  });
}

function security(
  created: string,
  nonce: Buffer,
  password = CREDENTIALS.password,
  username = CREDENTIALS.username,
) {
  return `<Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>${username}</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${passwordDigest(nonce, created, password)}</Password><Nonce>${nonce.toString('base64')}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${created}</Created></UsernameToken></Security>`;
}

function envelope(body: string, header = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

const GET_INFO = '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>';

/** The fault's subcode and reason, from a SOAP fault answer. */
function faultOf(answer: Answer): { subcode: string | undefined; reason: string | undefined } {
  expect(answer.body).toContain('<s:Fault>');
  const parsed = parseEnvelope(answer.body);
  return {
    subcode: textAt(parsed.body, 'Code', 'Subcode', 'Value'),
    reason: textAt(parsed.body, 'Reason', 'Text'),
  };
}

async function stillAnswers(): Promise<void> {
  const cam = await connectedCam({ hostname: '127.0.0.1', port: agent.onvifService!.port!, ...CREDENTIALS });
  const info = await call<Record<string, unknown>>((done) => cam.getDeviceInformation(done));
  expect(info.serialNumber).toBe('hostile');
  expect(agent.state().status).not.toBe('booting');
  expect(agent.mqttConnected).toBe(true);
}

describe('ONVIF against hostile peers', () => {
  it('the onvif client with a wrong password is refused with ter:NotAuthorized', async () => {
    // Connecting takes only pre-auth operations and GetProfiles, whose refusal the client turns into a warning.
    const cam = await connectedCam({
      hostname: '127.0.0.1',
      port: agent.onvifService!.port!,
      username: 'nvr',
      password: 'wrong',
    });
    expect(cam.profiles).toEqual([]);
    await expect(call((done) => cam.getDeviceInformation(done))).rejects.toThrow(
      /not authorized: wrong user name or password/,
    );
    await stillAnswers();
  });

  it('pre-auth operations answer without credentials and ignore any token: empty (libonvif) or wrong', async () => {
    const time = await post(
      '/onvif/device_service',
      envelope(
        '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>',
        '<Security><UsernameToken><Username></Username></UsernameToken></Security>',
      ),
    );
    expect(time.status).toBe(200);
    expect(time.body).toContain('<tt:UTCDateTime>');
    const wrongPassword = await post(
      '/onvif/device_service',
      envelope(
        '<GetCapabilities xmlns="http://www.onvif.org/ver10/device/wsdl"/>',
        security(new Date().toISOString(), randomBytes(16), 'wrong'),
      ),
    );
    expect(wrongPassword.status).toBe(200);
    expect(wrongPassword.body).toContain('<tds:GetCapabilitiesResponse>');
  });

  it('no token, a stale Created and a replayed nonce are refused; the first use of a token is not', async () => {
    const noToken = await post('/onvif/device_service', envelope(GET_INFO));
    expect(noToken.status).toBe(400);
    expect(faultOf(noToken)).toEqual({
      subcode: 'ter:NotAuthorized',
      reason: 'sender not authorized: this operation needs a WS-Security UsernameToken',
    });
    const stale = await post(
      '/onvif/device_service',
      envelope(GET_INFO, security(new Date(Date.now() - 10 * 60_000).toISOString(), randomBytes(16))),
    );
    expect(faultOf(stale).reason).toMatch(/from the device clock/);
    const token = security(new Date().toISOString(), randomBytes(16));
    const first = await post('/onvif/device_service', envelope(GET_INFO, token));
    expect(first.status).toBe(200);
    expect(first.body).toContain('<tds:SerialNumber>hostile</tds:SerialNumber>');
    const replay = await post('/onvif/device_service', envelope(GET_INFO, token));
    expect(replay.status).toBe(400);
    expect(faultOf(replay).reason).toMatch(/replay/);
    const wrongUser = await post(
      '/onvif/device_service',
      envelope(GET_INFO, security(new Date().toISOString(), randomBytes(16), CREDENTIALS.password, 'admin')),
    );
    expect(faultOf(wrongUser).subcode).toBe('ter:NotAuthorized');
  });

  it('malformed SOAP, an unknown operation and an unknown path get a fault or a refusal', async () => {
    const junk = await post('/onvif/device_service', '<s:Envelope><s:Body><GetProfiles></s:Envelope');
    expect(junk.status).toBe(400);
    expect(faultOf(junk).subcode).toBe('ter:WellFormed');
    const binary = await post('/onvif/media_service', randomBytes(2048).toString('latin1'));
    expect(binary.status).toBe(400);
    const notSoap = await post('/onvif/media_service', '<html><body>hi</body></html>');
    expect(faultOf(notSoap).reason).toMatch(/no Envelope\/Body/);
    const unknown = await post(
      '/onvif/device_service',
      envelope('<SystemReboot xmlns="http://www.onvif.org/ver10/device/wsdl"/>'),
    );
    expect(unknown.status).toBe(500);
    expect(faultOf(unknown).subcode).toBe('ter:ActionNotSupported');
    // Names of Object.prototype are no operations; the parser itself refuses __proto__ and constructor outright.
    const inherited = await post('/onvif/device_service', envelope('<hasOwnProperty/>'));
    expect(faultOf(inherited).subcode).toBe('ter:ActionNotSupported');
    for (const name of ['__proto__', 'constructor']) {
      const polluting = await post('/onvif/device_service', envelope(`<${name}/>`));
      expect(polluting.status).toBe(400);
      expect(faultOf(polluting).subcode).toBe('ter:WellFormed');
    }
    const pullPoint = await post(
      '/onvif/pull_point/00000000-0000-0000-0000-000000000000',
      envelope('<Unsubscribe/>', security(new Date().toISOString(), randomBytes(16))),
    );
    expect(faultOf(pullPoint).subcode).toBe('wsrf-rw:ResourceUnknownFault');
    expect((await post('/elsewhere', envelope(GET_INFO))).status).toBe(404);
    await stillAnswers();
  });

  it('a second root element after a valid, authorized envelope is not well-formed: ter:WellFormed', async () => {
    for (const trailer of ['<x/>', '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>']) {
      const answer = await post(
        '/onvif/device_service',
        `${envelope(GET_INFO, security(new Date().toISOString(), randomBytes(16)))}${trailer}`,
      );
      expect(answer.status).toBe(400);
      expect(faultOf(answer)).toEqual({
        subcode: 'ter:WellFormed',
        reason: 'not well-formed XML: more than one root element',
      });
    }
    await stillAnswers();
  });

  it('a pull-point filter on a topic the device lacks, an unknown dialect or bad syntax is a wsnt fault', async () => {
    const subscribe = (
      expression: string,
      dialect = 'http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet',
    ) =>
      post(
        '/onvif/events_service',
        envelope(
          `<CreatePullPointSubscription xmlns="http://www.onvif.org/ver10/events/wsdl"><Filter><wsnt:TopicExpression xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:tns1="http://www.onvif.org/ver10/topics" Dialect="${dialect}">${expression}</wsnt:TopicExpression></Filter></CreatePullPointSubscription>`,
          security(new Date().toISOString(), randomBytes(16)),
        ),
      );
    const before = agent.onvifService!.subscriptions;
    const nope = await subscribe('tns1:Nope');
    expect(nope.status).toBe(400);
    expect(faultOf(nope)).toEqual({
      subcode: 'wsnt:TopicNotSupportedFault',
      reason:
        'TopicExpression "tns1:Nope" is none of the device\'s topics: tns1:VideoSource/MotionAlarm, tns1:RuleEngine/MyRuleDetector/Visitor',
    });
    const dialect = await subscribe(
      'tns1:VideoSource/MotionAlarm',
      'http://www.w3.org/TR/1999/REC-xpath-19991116',
    );
    expect(faultOf(dialect).subcode).toBe('wsnt:TopicExpressionDialectUnknownFault');
    const syntax = await subscribe('tns1:VideoSource/MotionAlarm|');
    expect(faultOf(syntax).subcode).toBe('wsnt:InvalidTopicExpressionFault');
    expect(agent.onvifService!.subscriptions).toBe(before);
    const known = await subscribe('tns1:RuleEngine//.');
    expect(known.status).toBe(200);
    expect(known.body).toContain('<tev:SubscriptionReference>');
    // The npm onvif client subscribes without a filter; that is still taken.
    const cam = await connectedCam({
      hostname: '127.0.0.1',
      port: agent.onvifService!.port!,
      ...CREDENTIALS,
    });
    const created = await call<{ subscriptionReference: { address: { href: string } } }>((done) =>
      cam.createPullPointSubscription(done),
    );
    expect(created.subscriptionReference.address.href).toMatch(/\/onvif\/pull_point\/[0-9a-f-]{36}$/);
    await call((done) => cam.unsubscribe(done));
    await stillAnswers();
  });

  it('an oversized envelope is refused before it is read: declared, or streamed without a length', async () => {
    const declared = await post(
      '/onvif/device_service',
      envelope(`<GetDeviceInformation>${'x'.repeat(200_000)}</GetDeviceInformation>`),
    );
    expect(declared.status === 413 || declared.closed).toBe(true);
    expect(declared.body).not.toContain('SerialNumber');
    const streamed = await post(
      '/onvif/device_service',
      Array.from({ length: 64 }, () => 'x'.repeat(16 * 1024)),
      { 'Transfer-Encoding': 'chunked' },
    );
    expect(streamed.status === 413 || streamed.closed).toBe(true);
    await stillAnswers();
  });

  it('billion laughs and external entities are refused with a fault, nothing expanded', async () => {
    const entities = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
    );
    const laughs = `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY lol "lol">${entities.join('')}]>${envelope(
      '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl">&lol9;</GetDeviceInformation>',
    ).replace('<?xml version="1.0" encoding="UTF-8"?>', '')}`;
    const started = performance.now();
    const answer = await post('/onvif/device_service', laughs);
    expect(answer.status).toBe(400);
    expect(faultOf(answer).reason).toMatch(/document type declaration/);
    expect(answer.body.length).toBeLessThan(2000);
    console.log(`billion laughs refused in ${Math.round(performance.now() - started)} ms`);
    const xxe = await post(
      '/onvif/device_service',
      `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${envelope('<GetDeviceInformation>&xxe;</GetDeviceInformation>')}`,
    );
    expect(faultOf(xxe).reason).toMatch(/document type declaration/);
    await stillAnswers();
  });

  it('junk datagrams on the discovery port are ignored and a probe after them is still answered', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const replies: string[] = [];
    socket.on('message', (datagram) => replies.push(datagram.toString('utf8')));
    const port = agent.onvifService!.discoveryPort!;
    const send = (text: string | Buffer) =>
      new Promise<void>((resolve) => socket.send(text, port, '127.0.0.1', () => resolve()));
    await send(randomBytes(1200));
    await send('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>');
    await send(envelope('<Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"/>'));
    await send(
      `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header><MessageID xmlns="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:uuid:probe-1</MessageID></Header><Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><Types xmlns:dn="http://www.onvif.org/ver10/network/wsdl">dn:NetworkVideoTransmitter</Types></Probe></Body></Envelope>`,
    );
    const until = Date.now() + 2000;
    while (replies.length === 0 && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 20));
    socket.close();
    expect(replies).toHaveLength(1);
    const match = parseEnvelope(replies[0]!);
    expect(textAt(match.header, 'RelatesTo')).toBe('urn:uuid:probe-1');
    expect(textAt(match.body, 'ProbeMatch', 'XAddrs')).toBe(
      `http://127.0.0.1:${agent.onvifService!.port}/onvif/device_service`,
    );
  });
});
