import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { streamPath } from '../../src/stream/rtsp/connection.js';
import { digestAuthorized, parseDigestAuthorization } from '../../src/stream/rtsp/digest.js';
import { type RtspInput, RtspRequestParser, serializeResponse } from '../../src/stream/rtsp/messages.js';
import { SessionState } from '../../src/stream/rtsp/session-state.js';
import { chooseTransport, transportHeader } from '../../src/stream/rtsp/transport.js';

const OPTIONS = 'OPTIONS rtsp://127.0.0.1:8554/front-door RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: test\r\n\r\n';
const SET_PARAMETER =
  'SET_PARAMETER rtsp://127.0.0.1:8554/front-door RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 11\r\n\r\nbarparam: x';
const RTCP_FRAME = Buffer.concat([
  Buffer.from([0x24, 1, 0, 8]),
  Buffer.from('81c90001', 'hex'),
  Buffer.alloc(4),
]);

function parseAll(stream: Buffer, step: number): RtspInput[] {
  const parser = new RtspRequestParser();
  const out: RtspInput[] = [];
  for (let at = 0; at < stream.length; at += step) out.push(...parser.push(stream.subarray(at, at + step)));
  expect(parser.partial).toBe(false);
  return out;
}

describe('RtspRequestParser', () => {
  const stream = Buffer.concat([
    Buffer.from(OPTIONS),
    RTCP_FRAME,
    Buffer.from('\r\n'),
    Buffer.from(SET_PARAMETER),
    RTCP_FRAME,
  ]);

  it('reads requests and interleaved frames however the bytes are cut', () => {
    for (const step of [1, 3, 17, stream.length]) {
      const inputs = parseAll(stream, step);
      expect(inputs.map((input) => input.kind)).toEqual(['request', 'interleaved', 'request', 'interleaved']);
      const [options, rtcp, set] = inputs;
      if (options?.kind !== 'request' || rtcp?.kind !== 'interleaved' || set?.kind !== 'request')
        throw new Error();
      expect(options.request.method).toBe('OPTIONS');
      expect(options.request.uri).toBe('rtsp://127.0.0.1:8554/front-door');
      expect(options.request.headers.get('cseq')).toBe('1');
      expect(options.request.headers.get('user-agent')).toBe('test');
      expect(rtcp.channel).toBe(1);
      expect(rtcp.payload).toEqual(RTCP_FRAME.subarray(4));
      expect(set.request.body.toString()).toBe('barparam: x');
    }
  });

  it('joins folded and repeated header lines', () => {
    const [input] = new RtspRequestParser().push(
      Buffer.from(
        'DESCRIBE /a RTSP/1.0\r\nCSeq: 3\r\nAccept: application/sdp,\r\n  text/plain\r\nX-A: 1\r\nx-a: 2\r\n\r\n',
      ),
    );
    if (input?.kind !== 'request') throw new Error('no request');
    expect(input.request.headers.get('accept')).toBe('application/sdp, text/plain');
    expect(input.request.headers.get('x-a')).toBe('1, 2');
  });

  it('tells a partial request apart from a finished one', () => {
    const parser = new RtspRequestParser();
    expect(parser.push(Buffer.from('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n'))).toEqual([]);
    expect(parser.partial).toBe(true);
    expect(parser.push(Buffer.from('\r\n'))).toHaveLength(1);
    expect(parser.partial).toBe(false);
  });

  it('rejects garbage, an oversized header, a huge body and another version, then reads nothing more', () => {
    const cases: [string | Buffer, number][] = [
      [Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), 400],
      ['GET / HTTP/1.1\r\n\r\n', 400],
      ['OPTIONS  * RTSP/1.0\r\nCSeq: 1\r\n\r\n', 400],
      ['OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nno colon here\r\n\r\n', 400],
      [`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: ${'a'.repeat(9000)}`, 400],
      ['ANNOUNCE * RTSP/1.0\r\nCSeq: 4\r\nContent-Length: 99999999\r\n\r\n', 413],
      ['ANNOUNCE * RTSP/1.0\r\nCSeq: 4\r\nContent-Length: -1\r\n\r\n', 400],
      ['OPTIONS * RTSP/2.0\r\nCSeq: 5\r\n\r\n', 505],
    ];
    for (const [bytes, status] of cases) {
      const parser = new RtspRequestParser();
      const inputs = parser.push(Buffer.from(bytes));
      expect(inputs, String(bytes).slice(0, 40)).toMatchObject([{ kind: 'invalid', status }]);
      expect(parser.push(Buffer.from(OPTIONS))).toEqual([]);
    }
    const [withCseq] = new RtspRequestParser().push(Buffer.from('OPTIONS * RTSP/2.0\r\nCSeq: 5\r\n\r\n'));
    expect(withCseq).toMatchObject({ cseq: '5' });
  });
});

describe('serializeResponse', () => {
  it('writes the status line, the CSeq, headers and a sized body', () => {
    const text = serializeResponse({
      status: 200,
      cseq: '7',
      headers: [['Content-Base', 'rtsp://h/a/']],
      body: 'v=0\r\n',
      contentType: 'application/sdp',
    }).toString();
    expect(text).toBe(
      'RTSP/1.0 200 OK\r\nCSeq: 7\r\nContent-Base: rtsp://h/a/\r\nContent-Type: application/sdp\r\n' +
        'Content-Length: 5\r\n\r\nv=0\r\n',
    );
    expect(serializeResponse({ status: 454, cseq: '8' }).toString()).toBe(
      'RTSP/1.0 454 Session Not Found\r\nCSeq: 8\r\n\r\n',
    );
  });
});

describe('chooseTransport', () => {
  it('takes the first offer it can serve', () => {
    expect(chooseTransport('RTP/AVP/TCP;unicast;interleaved=2-3')).toEqual({ kind: 'tcp', channels: [2, 3] });
    expect(chooseTransport('RTP/AVP/TCP;unicast')).toEqual({ kind: 'tcp', channels: undefined });
    expect(chooseTransport('RTP/AVP;unicast;client_port=5000-5001')).toEqual({
      kind: 'udp',
      clientPorts: [5000, 5001],
    });
    expect(chooseTransport('RTP/AVP/UDP;unicast;client_port=6000')).toEqual({
      kind: 'udp',
      clientPorts: [6000, 6001],
    });
    expect(chooseTransport('RTP/AVP;multicast;port=5000-5001,RTP/AVP/TCP;interleaved=0-1')).toEqual({
      kind: 'tcp',
      channels: [0, 1],
    });
  });

  it('finds nothing in what it cannot serve', () => {
    for (const header of [
      undefined,
      '',
      'RTP/AVP;multicast',
      'RTP/AVP;unicast',
      'RTP/AVP;unicast;client_port=70000-70001',
      'RTP/AVP/TCP;interleaved=255-256',
      'RAW/RAW/UDP;client_port=1-2',
      'RTP/AVP/TCP;interleaved=0-1;mode=record',
    ]) {
      expect(chooseTransport(header), String(header)).toBeUndefined();
    }
  });

  it('answers with the channels or both port pairs and the SSRC', () => {
    expect(transportHeader({ kind: 'tcp', channels: [0, 1], ssrc: 0xab })).toBe(
      'RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=000000AB;mode="PLAY"',
    );
    expect(
      transportHeader({ kind: 'udp', clientPorts: [5000, 5001], serverPorts: [4000, 4001], ssrc: 1 }),
    ).toBe('RTP/AVP;unicast;client_port=5000-5001;server_port=4000-4001;ssrc=00000001;mode="PLAY"');
  });
});

describe('SessionState', () => {
  it('moves Ready → Playing → Ready → closed and refuses what a phase does not allow', () => {
    const state = new SessionState(0, 60_000);
    expect(state.apply('PAUSE', 1)).toEqual({ ok: false, status: 455 });
    expect(state.apply('PLAY', 1)).toEqual({ ok: true, phase: 'playing' });
    expect(state.apply('SETUP', 2)).toEqual({ ok: false, status: 455 });
    expect(state.apply('GET_PARAMETER', 2)).toEqual({ ok: true, phase: 'playing' });
    expect(state.apply('PAUSE', 3)).toEqual({ ok: true, phase: 'ready' });
    expect(state.apply('SETUP', 3)).toEqual({ ok: true, phase: 'ready' });
    expect(state.apply('TEARDOWN', 4)).toEqual({ ok: true, phase: 'closed' });
    expect(state.apply('PLAY', 5)).toEqual({ ok: false, status: 454 });
  });

  it('expires when nothing was heard for the timeout; requests and reports keep it alive', () => {
    const state = new SessionState(1_000, 60_000);
    expect(state.expired(61_000)).toBe(false);
    expect(state.expired(61_001)).toBe(true);
    state.heard(50_000);
    expect(state.expired(110_000)).toBe(false);
    state.apply('GET_PARAMETER', 100_000);
    expect(state.expired(160_000)).toBe(false);
    expect(state.expired(160_001)).toBe(true);
    state.close();
    expect(state.expired(1e9)).toBe(false);
  });
});

describe('digest authentication', () => {
  const md5 = (text: string): string => createHash('md5').update(text).digest('hex');
  const credentials = { username: 'viewer', password: 's3cret' };
  const realm = 'virtual-doorbell';
  const nonce = 'abc123';
  const uri = 'rtsp://127.0.0.1:8554/front-door';
  const clientResponse = (password: string, theNonce = nonce): string =>
    md5(`${md5(`viewer:${realm}:${password}`)}:${theNonce}:${md5(`DESCRIBE:${uri}`)}`);
  const header = (response: string, theNonce = nonce): string =>
    `Digest username="viewer", realm="${realm}", nonce="${theNonce}", uri="${uri}", response="${response}"`;

  it('accepts the response a client computes from the right password', () => {
    expect(
      digestAuthorized({
        method: 'DESCRIBE',
        requestUri: uri,
        authorization: header(clientResponse('s3cret')),
        realm,
        nonce,
        credentials,
      }),
    ).toBe(true);
  });

  it('accepts the qop=auth form', () => {
    const ha1 = md5(`viewer:${realm}:s3cret`);
    const response = md5(`${ha1}:${nonce}:00000001:xyz:auth:${md5(`DESCRIBE:${uri}`)}`);
    const authorization = `${header(response)}, qop=auth, nc=00000001, cnonce="xyz"`;
    expect(
      digestAuthorized({ method: 'DESCRIBE', requestUri: uri, authorization, realm, nonce, credentials }),
    ).toBe(true);
  });

  it('refuses a wrong password, a foreign nonce, another method or URI, another scheme or none', () => {
    const check = (authorization: string | undefined, method = 'DESCRIBE', requestUri = uri): boolean =>
      digestAuthorized({ method, requestUri, authorization, realm, nonce, credentials });
    // A header proven for one path opens no other (a sniffed main-stream header on the substream).
    expect(check(header(clientResponse('s3cret')), 'DESCRIBE', `${uri}/sub`)).toBe(false);
    expect(check(header(clientResponse('wrong')))).toBe(false);
    expect(check(header(clientResponse('s3cret', 'other'), 'other'))).toBe(false);
    expect(check(header(clientResponse('s3cret')), 'SETUP')).toBe(false);
    expect(check(`Basic ${Buffer.from('viewer:s3cret').toString('base64')}`)).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(check('Digest garbage')).toBe(false);
  });

  it('parses quoted, escaped and bare parameters', () => {
    expect(parseDigestAuthorization('Digest a="x\\"y", b=tok, c=""')).toEqual(
      new Map([
        ['a', 'x"y'],
        ['b', 'tok'],
        ['c', ''],
      ]),
    );
  });
});

describe('streamPath', () => {
  it('names the stream without the track control or a trailing slash', () => {
    expect(streamPath('rtsp://127.0.0.1:8554/front-door')).toBe('/front-door');
    expect(streamPath('rtsp://127.0.0.1:8554/front-door/')).toBe('/front-door');
    expect(streamPath('rtsp://127.0.0.1:8554/front-door/sub/trackID=0')).toBe('/front-door/sub');
    expect(streamPath('rtsp://h/front-door?x=1')).toBe('/front-door');
    expect(streamPath('/front-door/trackID=0')).toBe('/front-door');
    expect(streamPath('rtsp://h/%zz')).toBeUndefined();
  });
});
