// The live view: reads /api/live (multipart/x-mixed-replace JPEG) with fetch, cuts frames by their
// Content-Length, and paints the newest one on a canvas. Reading the stream ourselves (instead of an
// <img>) lets the page count frames, drop stale ones, and reconnect on its own.

const HEADER_END = [13, 10, 13, 10];
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

function indexOfSequence(buffer, sequence) {
  outer: for (let i = 0; i <= buffer.length - sequence.length; i++) {
    for (let j = 0; j < sequence.length; j++) if (buffer[i + j] !== sequence[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Incremental parser: push() bytes as they arrive, onFrame(jpegBytes) fires per complete part.
 * Headers are searched in a small buffer; a frame body is copied once into its own array.
 */
export class MultipartJpegParser {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.header = new Uint8Array(0);
    this.frame = undefined;
    this.filled = 0;
    this.decoder = new TextDecoder('latin1');
  }

  push(chunk) {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.frame) {
        const take = Math.min(this.frame.length - this.filled, chunk.length - offset);
        this.frame.set(chunk.subarray(offset, offset + take), this.filled);
        this.filled += take;
        offset += take;
        if (this.filled === this.frame.length) this.finishFrame();
        continue;
      }
      const before = this.header.length;
      const joined = new Uint8Array(before + chunk.length - offset);
      joined.set(this.header, 0);
      joined.set(chunk.subarray(offset), before);
      const end = indexOfSequence(joined, HEADER_END);
      if (end < 0) {
        if (joined.length > MAX_HEADER_BYTES) throw new Error('live stream: part header too long');
        this.header = joined;
        return;
      }
      const text = this.decoder.decode(joined.subarray(0, end));
      const length = /content-length:\s*(\d+)/i.exec(text);
      if (!length) throw new Error('live stream: part without Content-Length');
      const bytes = Number(length[1]);
      if (bytes > MAX_FRAME_BYTES) throw new Error('live stream: frame too large');
      offset += end + HEADER_END.length - before;
      this.header = new Uint8Array(0);
      this.frame = new Uint8Array(bytes);
      this.filled = 0;
      if (bytes === 0) this.finishFrame();
    }
  }

  finishFrame() {
    const frame = this.frame;
    this.frame = undefined;
    this.filled = 0;
    this.onFrame(frame);
  }
}

/** Frames per second over a sliding window of paint times (ms). */
export class FrameRateMeter {
  constructor(windowMs = 2000) {
    this.windowMs = windowMs;
    this.times = [];
  }

  tick(nowMs) {
    this.times.push(nowMs);
    this.trim(nowMs);
  }

  rate(nowMs) {
    this.trim(nowMs);
    if (this.times.length < 2) return 0;
    // Measured up to now, not to the last frame, so a stalled stream decays towards 0.
    const span = nowMs - this.times[0];
    return span >= 250 ? ((this.times.length - 1) * 1000) / span : 0;
  }

  trim(nowMs) {
    while (this.times.length > 0 && nowMs - this.times[0] > this.windowMs) this.times.shift();
  }
}

/**
 * Keeps the canvas fed while the page is visible. Calls onStatus({connected, fps, frames, message}) twice a second
 * and onPaint(frames) after each frame. Returns a stop function.
 */
export function startLiveView(canvas, onStatus, url = '/api/live', onPaint = () => {}) {
  const context = canvas.getContext('2d');
  const meter = new FrameRateMeter();
  let frames = 0;
  let pending;
  let painting = false;
  let controller;
  let stopped = false;
  let connected = false;
  let message = 'connecting…';
  let generation = 0;

  const report = () => onStatus({ connected, fps: meter.rate(performance.now()), frames, message });
  const setConnection = (isConnected, text) => {
    connected = isConnected;
    message = text;
    report();
  };

  async function paint() {
    if (painting) return;
    painting = true;
    try {
      while (pending) {
        const bytes = pending;
        pending = undefined;
        const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
        if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
          canvas.width = bitmap.width;
          canvas.height = bitmap.height;
        }
        context.drawImage(bitmap, 0, 0);
        bitmap.close();
        frames++;
        canvas.dataset.frames = String(frames);
        onPaint(frames);
        meter.tick(performance.now());
      }
    } catch {
      // One undecodable frame is skipped; the next one repaints.
    } finally {
      painting = false;
    }
  }

  /** One connect-read-retry loop; a newer loop (after the tab was hidden and shown) retires older ones. */
  async function run() {
    const mine = ++generation;
    let retryMs = 500;
    while (!stopped && mine === generation && !document.hidden) {
      controller = new AbortController();
      try {
        const response = await fetch(url, { signal: controller.signal, cache: 'no-store' });
        if (!response.ok || !response.body)
          throw new Error(`live view unavailable (HTTP ${response.status})`);
        setConnection(true, undefined);
        retryMs = 500;
        const parser = new MultipartJpegParser((bytes) => {
          pending = bytes;
          void paint();
        });
        const reader = response.body.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.push(value);
        }
        setConnection(false, 'live view ended; reconnecting…');
      } catch (error) {
        if (stopped || mine !== generation) return;
        if (controller.signal.aborted) {
          setConnection(false, 'paused');
          return;
        }
        setConnection(false, `${error instanceof Error ? error.message : error}; retrying…`);
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      retryMs = Math.min(retryMs * 2, 8000);
    }
  }

  const ticker = setInterval(() => {
    if (!document.hidden) report();
  }, 500);
  const onVisibility = () => {
    if (document.hidden) controller?.abort();
    else void run();
  };
  document.addEventListener('visibilitychange', onVisibility);
  void run();

  return () => {
    stopped = true;
    clearInterval(ticker);
    document.removeEventListener('visibilitychange', onVisibility);
    controller?.abort();
  };
}
