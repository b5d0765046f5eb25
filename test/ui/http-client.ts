import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { vi } from 'vitest';

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: () => unknown;
}

/** A plain node:http request (fetch would not let tests set Host or send odd headers). */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text,
            json: () => JSON.parse(text),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** An open streaming response (SSE or MJPEG) whose bytes accumulate until closed. */
export interface OpenStream {
  status: number;
  headers: IncomingHttpHeaders;
  received(): Buffer;
  waitFor(predicate: (received: Buffer) => boolean, timeoutMs?: number): Promise<void>;
  onData(listener: (chunk: Buffer) => void): void;
  close(): void;
  ended: Promise<void>;
}

export function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      const listeners: Array<(chunk: Buffer) => void> = [];
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => done());
      });
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        for (const listener of listeners) listener(chunk);
      });
      const received = () => Buffer.concat(chunks);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        received,
        onData: (listener) => listeners.push(listener),
        async waitFor(predicate, timeoutMs = 3000) {
          await vi.waitFor(
            () => {
              if (!predicate(received())) {
                throw new Error(
                  `stream did not deliver in time; got:\n${received().toString('latin1').slice(0, 600)}`,
                );
              }
            },
            { timeout: timeoutMs, interval: 20 },
          );
        },
        close: () => req.destroy(),
        ended,
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Server-sent events parsed from a text stream: `{event, data}` per block. */
export function parseSse(text: string): Array<{ event: string; data: string }> {
  const events: Array<{ event: string; data: string }> = [];
  for (const block of text.split('\n\n')) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return events;
}
