/**
 * The Transport header (RFC 2326 §12.39): which of the client's offered transports we serve — RTP over the RTSP
 * connection (interleaved channels) or RTP over UDP unicast to the client's ports — and how the answer reads. Pure.
 */

export type TransportOffer =
  | { kind: 'tcp'; channels: readonly [number, number] | undefined }
  | { kind: 'udp'; clientPorts: readonly [number, number] };

/** The first offered transport we can serve, in the client's order of preference; undefined when none. */
export function chooseTransport(header: string | undefined): TransportOffer | undefined {
  for (const spec of (header ?? '').split(',')) {
    const [protocol = '', ...params] = spec.trim().split(';');
    const values = new Map(
      params.map((param) => {
        const at = param.indexOf('=');
        return at < 0
          ? [param.trim().toLowerCase(), '']
          : [param.slice(0, at).trim().toLowerCase(), param.slice(at + 1)];
      }),
    );
    if (values.has('multicast') || (values.has('mode') && !/^"?play"?$/i.test(values.get('mode')!))) continue;
    const upper = protocol.trim().toUpperCase();
    if (upper === 'RTP/AVP/TCP') {
      const channels = values.has('interleaved') ? range(values.get('interleaved')!, 0, 255) : undefined;
      if (values.has('interleaved') && !channels) continue;
      return { kind: 'tcp', channels };
    }
    if (upper === 'RTP/AVP' || upper === 'RTP/AVP/UDP') {
      const clientPorts = range(values.get('client_port') ?? '', 1, 65535);
      if (clientPorts) return { kind: 'udp', clientPorts };
    }
  }
  return undefined;
}

/** "a-b" or "a" (meaning a and a+1), both within [min, max]. */
function range(text: string, min: number, max: number): readonly [number, number] | undefined {
  const match = /^\s*(\d{1,5})(?:-(\d{1,5}))?\s*$/.exec(text);
  if (!match) return undefined;
  const first = Number(match[1]);
  const second = match[2] === undefined ? first + 1 : Number(match[2]);
  if (first < min || second > max || second < min || first > max) return undefined;
  return [first, second];
}

export type TransportAnswer =
  | { kind: 'tcp'; channels: readonly [number, number]; ssrc: number }
  | {
      kind: 'udp';
      clientPorts: readonly [number, number];
      serverPorts: readonly [number, number];
      ssrc: number;
    };

export function transportHeader(answer: TransportAnswer): string {
  const ssrc = `ssrc=${(answer.ssrc >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
  if (answer.kind === 'tcp') {
    return `RTP/AVP/TCP;unicast;interleaved=${answer.channels[0]}-${answer.channels[1]};${ssrc};mode="PLAY"`;
  }
  const [c0, c1] = answer.clientPorts;
  const [s0, s1] = answer.serverPorts;
  return `RTP/AVP;unicast;client_port=${c0}-${c1};server_port=${s0}-${s1};${ssrc};mode="PLAY"`;
}
