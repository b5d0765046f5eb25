/** The clients tests point at the RTSP server: real programs (ffmpeg, ffprobe, gst-launch) and a raw one. */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

export interface ProgramRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** ms after the start at which stdout first produced something, if it did. */
  firstOutputMs: number | undefined;
}

export function runProgram(file: string, args: string[], timeoutMs: number): Promise<ProgramRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let firstOutputMs: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      firstOutputMs ??= performance.now() - started;
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started, firstOutputMs });
    });
  });
}

/**
 * What went wrong in a gst-launch-1.0 run (not -q) that should play until fakesink's num-buffers ends it, or
 * undefined. gst-launch races its own shutdown: at EOS it takes the pipeline down at once, and rtspsrc's TEARDOWN
 * flushes the connection while the PAUSE before it is still being written; the cancelled write is reported as
 * "Could not send message. (Received end-of-file)" (gst_rtspsrc_try_send, then gst_rtspsrc_pause) and exit code 1,
 * though the PAUSE never left the client and the TEARDOWN after it is answered on the same connection. That error
 * alone, after EOS, says nothing about the server; a server closing the connection early shows as an rtspsrc warning.
 */
export function gstTrouble(run: ProgramRun): string | undefined {
  const output = `${run.stdout}\n${run.stderr}`;
  if (!run.stdout.includes('Got EOS from element "pipeline0"'))
    return `no EOS (exit code ${run.code}):\n${output}`;
  if (/WARNING: from element \S*GstRTSPSrc/.test(output)) return `rtspsrc warned:\n${output}`;
  if (run.code === 0) return undefined;
  const errors = run.stderr.split(/^(?=ERROR: )/m).filter((block) => block.startsWith('ERROR: '));
  const shutdownRace = (block: string) =>
    /gst_rtspsrc_(?:try_send|pause) \(\): .*\nCould not send message\. \(Received end-of-file\)/.test(block);
  return errors.length > 0 && errors.every(shutdownRace) ? undefined : `exit code ${run.code}:\n${output}`;
}

export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/**
 * A hand-driven RTSP client: sends requests, reads responses and counts the `$` frames that arrive between them.
 * It can stop reading (pause) to play a viewer that got stuck.
 */
export class RawRtspClient {
  readonly socket: Socket;
  interleavedFrames = 0;
  closed = false;
  private buffered = Buffer.alloc(0);
  private waiting: ((response: RawResponse) => void) | undefined;
  private cseq = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static async open(port: number): Promise<RawRtspClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawRtspClient(socket);
  }

  request(method: string, uri: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++this.cseq}`];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    return this.send(`${lines.join('\r\n')}\r\n\r\n`);
  }

  send(raw: string | Buffer): Promise<RawResponse> {
    const response = new Promise<RawResponse>((resolve) => {
      this.waiting = resolve;
    });
    this.socket.write(raw);
    return response;
  }

  /** Resolves when the server closes the connection. */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    for (;;) {
      if (this.buffered.length === 0) return;
      if (this.buffered[0] === 0x24) {
        if (this.buffered.length < 4) return;
        const end = 4 + this.buffered.readUInt16BE(2);
        if (this.buffered.length < end) return;
        this.interleavedFrames++;
        this.buffered = this.buffered.subarray(end);
        continue;
      }
      const headEnd = this.buffered.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const [statusLine = '', ...headerLines] = this.buffered
        .subarray(0, headEnd)
        .toString('latin1')
        .split('\r\n');
      const headers = new Map<string, string>();
      for (const line of headerLines) {
        const at = line.indexOf(':');
        headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
      }
      const length = Number(headers.get('content-length') ?? 0);
      if (this.buffered.length < headEnd + 4 + length) return;
      const body = this.buffered.subarray(headEnd + 4, headEnd + 4 + length).toString();
      this.buffered = this.buffered.subarray(headEnd + 4 + length);
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.({ status: Number(statusLine.split(' ')[1]), headers, body });
    }
  }
}

/** Decoder complaints that mean a broken stream, in ffmpeg's or GStreamer's stderr. */
export const DECODE_TROUBLE = /error|corrupt|non-existing PPS|missing picture|concealing|invalid/i;

/**
 * ffmpeg's RTSP options for a UDP reader: a 4 MiB socket receive buffer (the kernel caps it at net.core.rmem_max) so
 * that a reader the test machine starves of CPU for a moment still finds every datagram waiting.
 */
export const UDP_READER_OPTIONS = ['-buffer_size', String(4 * 1024 * 1024)] as const;

/**
 * RTP packets ffmpeg's reader says it never got (gaps in the sequence numbers). Over UDP that is the receiver's loss:
 * a datagram arriving while its socket buffer is full is dropped by the kernel, and the pictures it carried decode
 * with errors. Our server numbers every packet it sends, so a gap it caused would show here too — hence the tests
 * still demand the frame rate when they excuse the decode errors that follow a reported loss.
 */
export function rtpPacketsMissed(stderr: string): number {
  return [...stderr.matchAll(/RTP: missed (\d+) packets/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** A read decoded cleanly, or — over UDP only — its errors all follow datagrams the reader reported lost. */
export function decodeTrouble(stderr: string, transport: 'tcp' | 'udp'): string | undefined {
  if (!DECODE_TROUBLE.test(stderr)) return undefined;
  if (transport === 'udp' && rtpPacketsMissed(stderr) > 0) {
    console.warn(
      `UDP reader lost ${rtpPacketsMissed(stderr)} datagrams (CPU-starved); decode errors excused`,
    );
    return undefined;
  }
  return stderr;
}

/** Frames in ffmpeg's framemd5 output (one line each, after `#` comment lines). */
export function framemd5Count(stdout: string): number {
  return stdout.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')).length;
}
