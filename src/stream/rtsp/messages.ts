/**
 * RTSP 1.0 messages (RFC 2326 §6-7): an incremental request parser for the bytes a client sends, which interleave
 * requests with `$`-framed binary data (§10.12, e.g. RTCP receiver reports), and the response serializer. Pure.
 */

export interface RtspRequest {
  method: string;
  uri: string;
  /** Header values by lower-case name; a repeated header's values are joined with ", ". */
  headers: ReadonlyMap<string, string>;
  body: Buffer;
}

export type RtspInput =
  | { kind: 'request'; request: RtspRequest }
  | { kind: 'interleaved'; channel: number; payload: Buffer }
  /** The stream cannot be read further: answer with `status` (and the CSeq if one was seen), then close. */
  | { kind: 'invalid'; status: number; reason: string; cseq?: string };

export interface ParserLimits {
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

export const DEFAULT_PARSER_LIMITS: ParserLimits = { maxHeaderBytes: 8 * 1024, maxBodyBytes: 64 * 1024 };

const HEADER_END = Buffer.from('\r\n\r\n');
const REQUEST_LINE = /^([A-Z][A-Z_-]{0,31}) (\S{1,2048}) RTSP\/(\d)\.(\d)$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*)$/;

export class RtspRequestParser {
  private pending: Buffer = Buffer.alloc(0);
  private failed = false;

  constructor(private readonly limits: ParserLimits = DEFAULT_PARSER_LIMITS) {}

  /** Bytes of an unfinished message are waiting for the rest. */
  get partial(): boolean {
    return this.pending.length > 0 && !this.failed;
  }

  push(chunk: Buffer): RtspInput[] {
    if (this.failed) return [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: RtspInput[] = [];
    for (;;) {
      const next = this.next();
      if (!next) break;
      out.push(next);
      if (next.kind === 'invalid') {
        this.failed = true;
        this.pending = Buffer.alloc(0);
        break;
      }
    }
    return out;
  }

  private next(): RtspInput | undefined {
    let start = 0;
    // Blank lines between messages are allowed (some clients send a bare CRLF as a keep-alive).
    while (start < this.pending.length && (this.pending[start] === 0x0d || this.pending[start] === 0x0a))
      start++;
    if (start > 0) this.pending = this.pending.subarray(start);
    if (this.pending.length === 0) return undefined;

    if (this.pending[0] === 0x24) return this.interleaved();
    if (this.pending[0]! < 0x41 || this.pending[0]! > 0x5a) {
      return { kind: 'invalid', status: 400, reason: 'not an RTSP request' };
    }
    const headerEnd = this.pending.indexOf(HEADER_END);
    if (headerEnd < 0) {
      if (this.pending.length > this.limits.maxHeaderBytes) {
        return { kind: 'invalid', status: 400, reason: 'request header too large' };
      }
      return undefined;
    }
    if (headerEnd + HEADER_END.length > this.limits.maxHeaderBytes) {
      return { kind: 'invalid', status: 400, reason: 'request header too large' };
    }
    const head = parseHead(this.pending.subarray(0, headerEnd).toString('latin1'));
    if ('status' in head) return { kind: 'invalid', ...head };
    const lengthText = head.headers.get('content-length') ?? '0';
    const length = /^\d{1,9}$/.test(lengthText) ? Number(lengthText) : Number.NaN;
    const cseq = head.headers.get('cseq');
    const withCseq = cseq === undefined ? {} : { cseq };
    if (Number.isNaN(length))
      return { kind: 'invalid', status: 400, reason: 'bad Content-Length', ...withCseq };
    if (length > this.limits.maxBodyBytes) {
      return { kind: 'invalid', status: 413, reason: 'request body too large', ...withCseq };
    }
    const bodyStart = headerEnd + HEADER_END.length;
    if (this.pending.length < bodyStart + length) return undefined;
    const body = Buffer.from(this.pending.subarray(bodyStart, bodyStart + length));
    this.pending = this.pending.subarray(bodyStart + length);
    return { kind: 'request', request: { ...head, body } };
  }

  private interleaved(): RtspInput | undefined {
    if (this.pending.length < 4) return undefined;
    const length = this.pending.readUInt16BE(2);
    if (this.pending.length < 4 + length) return undefined;
    const channel = this.pending[1]!;
    const payload = Buffer.from(this.pending.subarray(4, 4 + length));
    this.pending = this.pending.subarray(4 + length);
    return { kind: 'interleaved', channel, payload };
  }
}

function parseHead(
  text: string,
): Omit<RtspRequest, 'body'> | { status: number; reason: string; cseq?: string } {
  const lines = text.split(/\r?\n/);
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && last !== undefined) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`);
      continue;
    }
    const match = HEADER_LINE.exec(line);
    if (!match) return { status: 400, reason: 'malformed header line' };
    last = match[1]!.toLowerCase();
    const value = match[2]!.trim();
    const earlier = headers.get(last);
    headers.set(last, earlier === undefined ? value : `${earlier}, ${value}`);
  }
  const cseq = headers.get('cseq');
  const withCseq = cseq === undefined ? {} : { cseq };
  const request = REQUEST_LINE.exec(lines[0] ?? '');
  if (!request) return { status: 400, reason: 'malformed request line', ...withCseq };
  if (request[3] !== '1' || request[4] !== '0') {
    return { status: 505, reason: 'RTSP version not supported', ...withCseq };
  }
  return { method: request[1]!, uri: request[2]!, headers };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Request Entity Too Large',
  453: 'Not Enough Bandwidth',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'RTSP Version Not Supported',
  551: 'Option not supported',
};

export interface RtspResponse {
  status: number;
  /** Echoed from the request; absent only when the request had none. */
  cseq?: string | undefined;
  headers?: ReadonlyArray<readonly [string, string]>;
  body?: string | undefined;
  contentType?: string | undefined;
}

export function serializeResponse(response: RtspResponse): Buffer {
  const lines = [`RTSP/1.0 ${response.status} ${STATUS_TEXT[response.status] ?? 'Unknown'}`];
  if (response.cseq !== undefined) lines.push(`CSeq: ${response.cseq}`);
  for (const [name, value] of response.headers ?? []) lines.push(`${name}: ${value.replace(/[\r\n]/g, ' ')}`);
  const body = response.body === undefined ? undefined : Buffer.from(response.body, 'utf8');
  if (body) {
    lines.push(`Content-Type: ${response.contentType ?? 'text/parameters'}`);
    lines.push(`Content-Length: ${body.length}`);
  }
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body ? Buffer.concat([head, body]) : head;
}

/** `$`, the channel and the length, then one RTP or RTCP packet: binary data on the RTSP connection (§10.12). */
export function interleavedFrame(channel: number, packet: Buffer): Buffer[] {
  const header = Buffer.alloc(4);
  header[0] = 0x24;
  header[1] = channel;
  header.writeUInt16BE(packet.length, 2);
  return [header, packet];
}
