// A small live HLS player for the console: reads the device's fMP4 playlist, appends the init segment and each new
// media segment to a Media Source Extensions SourceBuffer, and keeps playback about a second behind the live edge.
// It also remembers, per segment, which device-clock instant its first picture shows (EXT-X-PROGRAM-DATE-TIME), so
// the page can tell the device time of whatever frame the <video> presents: that is how motion boxes line up.

const LIVE_DELAY_S = 1.0;
/** Further behind the live edge than this (a stall, a hidden tab), playback jumps forward. */
const MAX_LAG_S = 3.5;
/** Media kept behind the playhead. */
const KEEP_BEHIND_S = 10;
const POLL_MS = 300;
const TIMELINE_LIMIT = 64;

/** The media playlist's fields this player uses; segment URIs resolved against `baseUrl`. */
export function parsePlaylist(text, baseUrl) {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  if (lines[0] !== '#EXTM3U') throw new Error('not an HLS playlist');
  let mediaSequence = 0;
  let targetDurationS = 1;
  let map;
  let programDateMs;
  let durationS;
  const segments = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) mediaSequence = Number(line.slice(22));
    else if (line.startsWith('#EXT-X-TARGETDURATION:')) targetDurationS = Number(line.slice(22));
    else if (line.startsWith('#EXT-X-MAP:')) {
      const uri = /URI="([^"]*)"/.exec(line);
      if (uri) map = new URL(uri[1], baseUrl).href;
    } else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) programDateMs = Date.parse(line.slice(25));
    else if (line.startsWith('#EXTINF:')) durationS = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith('#')) {
      segments.push({
        sequence: mediaSequence + segments.length,
        uri: new URL(line, baseUrl).href,
        durationS: durationS ?? 0,
        programDateMs,
      });
      programDateMs = undefined;
      durationS = undefined;
    }
  }
  return { mediaSequence, targetDurationS, map, segments };
}

/** The payload of the first box along `path` (e.g. ['moof', 'traf', 'tfdt']), or undefined. */
export function findBox(bytes, path) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  let end = bytes.byteLength;
  for (const type of path) {
    let found = false;
    for (let at = start; at + 8 <= end; ) {
      const size = view.getUint32(at);
      if (size < 8 || at + size > end) return undefined;
      const name = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
      if (name === type) {
        start = at + 8;
        end = at + size;
        found = true;
        break;
      }
      at += size;
    }
    if (!found) return undefined;
  }
  return bytes.subarray(start, end);
}

const STSD = ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd'];

/** The init segment's media timescale (mdhd) and RFC 6381 codec string (from the avcC). */
export function describeInit(init) {
  const mdhd = findBox(init, ['moov', 'trak', 'mdia', 'mdhd']);
  const stsd = findBox(init, STSD);
  if (!mdhd || !stsd) throw new Error('the init segment has no track');
  const mdhdView = new DataView(mdhd.buffer, mdhd.byteOffset, mdhd.byteLength);
  const timescale = mdhd[0] === 1 ? mdhdView.getUint32(20) : mdhdView.getUint32(12);
  // stsd: version/flags and entry count, then the avc1 sample entry; its avcC follows 78 bytes of fields.
  const avc1 = findBox(stsd.subarray(8), ['avc1']);
  const avcC = avc1 && findBox(avc1.subarray(78), ['avcC']);
  if (!avcC) throw new Error('the init segment is not H.264');
  const hex = (byte) => byte.toString(16).padStart(2, '0');
  return { timescale, codec: `avc1.${hex(avcC[1])}${hex(avcC[2])}${hex(avcC[3])}` };
}

/** A media segment's first decode time in timescale ticks (tfdt). */
export function baseDecodeTime(segment) {
  const tfdt = findBox(segment, ['moof', 'traf', 'tfdt']);
  if (!tfdt) throw new Error('the media segment has no tfdt');
  const view = new DataView(tfdt.buffer, tfdt.byteOffset, tfdt.byteLength);
  return tfdt[0] === 1 ? Number(view.getBigUint64(4)) : view.getUint32(4);
}

/** Media time (s) → device-clock ms, from where each appended segment starts and the instant it shows. */
export class DeviceTimeline {
  constructor() {
    this.entries = [];
  }

  clear() {
    this.entries = [];
  }

  add(mediaStartS, programDateMs) {
    if (!Number.isFinite(programDateMs)) return;
    this.entries.push({ mediaStartS, programDateMs });
    this.entries.sort((a, b) => a.mediaStartS - b.mediaStartS);
    if (this.entries.length > TIMELINE_LIMIT) this.entries.shift();
  }

  deviceMsAt(mediaTimeS) {
    let entry;
    for (const candidate of this.entries) {
      if (candidate.mediaStartS <= mediaTimeS + 1e-4) entry = candidate;
      else break;
    }
    if (!entry) return undefined;
    return entry.programDateMs + (mediaTimeS - entry.mediaStartS) * 1000;
  }
}

/** HLS cannot play here (no MSE, no H.264, or the device serves no HLS): the caller falls back. */
export class HlsUnavailable extends Error {}

/** A playlist or init segment: a 404 means this device serves no HLS. */
async function fetchOk(url, signal) {
  const response = await fetch(url, { signal, cache: 'no-store' });
  if (response.status === 404) throw new HlsUnavailable(`${url} is not served here`);
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${new URL(url).pathname}`);
  return response;
}

/** A media segment's bytes, or undefined when it has left the playlist already (404). */
async function fetchSegment(url, signal) {
  const response = await fetch(url, { signal, cache: 'no-store' });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${new URL(url).pathname}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Plays `playlistUrl` in `video` until stop(). onStatus({playing, message}) reports progress; the returned
 * `ended` promise rejects with HlsUnavailable when HLS cannot work here, so the caller can fall back.
 */
export function startHlsPlayer(video, playlistUrl, onStatus = () => {}) {
  const timeline = new DeviceTimeline();
  const abort = new AbortController();
  const { signal } = abort;
  let stopped = false;

  const appendTo = (buffer, bytes) =>
    new Promise((resolve, reject) => {
      const done = () => {
        buffer.removeEventListener('updateend', done);
        buffer.removeEventListener('error', failed);
        resolve();
      };
      const failed = () => {
        buffer.removeEventListener('updateend', done);
        buffer.removeEventListener('error', failed);
        reject(new Error('the browser refused a segment'));
      };
      buffer.addEventListener('updateend', done);
      buffer.addEventListener('error', failed);
      buffer.appendBuffer(bytes);
    });

  async function play() {
    if (typeof MediaSource === 'undefined')
      throw new HlsUnavailable('this browser has no Media Source Extensions');
    timeline.clear();
    const base = new URL(playlistUrl, location.href).href;
    let playlist = parsePlaylist(await (await fetchOk(base, signal)).text(), base);
    if (!playlist.map) throw new HlsUnavailable('the playlist has no fMP4 init segment');
    const init = new Uint8Array(await (await fetchOk(playlist.map, signal)).arrayBuffer());
    const { timescale, codec } = describeInit(init);
    const mime = `video/mp4; codecs="${codec}"`;
    if (!MediaSource.isTypeSupported(mime)) throw new HlsUnavailable(`this browser cannot play ${codec}`);

    const source = new MediaSource();
    video.src = URL.createObjectURL(source);
    await new Promise((resolve, reject) => {
      source.addEventListener('sourceopen', resolve, { once: true });
      video.addEventListener(
        'error',
        () => reject(new HlsUnavailable(`the video refused the stream: ${video.error?.message}`)),
        {
          once: true,
        },
      );
    });
    URL.revokeObjectURL(video.src);
    const buffer = source.addSourceBuffer(mime);
    await appendTo(buffer, init);

    // Start one segment before the newest, so there is a second of picture in hand.
    let next = playlist.segments.at(-2)?.sequence ?? playlist.segments.at(-1)?.sequence ?? 0;
    while (!stopped) {
      const first = playlist.segments[0]?.sequence ?? next;
      const last = playlist.segments.at(-1)?.sequence ?? next;
      // The stream started over (numbering from 0 again): start a fresh player on it.
      if (next > last + 1) throw new Error('the stream restarted');
      if (next < first) next = last;
      for (const segment of playlist.segments) {
        if (segment.sequence < next || stopped) continue;
        const bytes = await fetchSegment(segment.uri, signal);
        if (!bytes) {
          next = last;
          break;
        }
        timeline.add(baseDecodeTime(bytes) / timescale, segment.programDateMs);
        await appendTo(buffer, bytes);
        next = segment.sequence + 1;
      }
      await keepNearLiveEdge(buffer);
      onStatus({ playing: !video.paused, message: undefined });
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (stopped) return;
      playlist = parsePlaylist(await (await fetchOk(base, signal)).text(), base);
    }
  }

  async function keepNearLiveEdge(buffer) {
    const ranges = buffer.buffered;
    if (ranges.length === 0) return;
    const end = ranges.end(ranges.length - 1);
    const now = video.currentTime;
    const inBuffer = [...Array(ranges.length).keys()].some(
      (i) => now >= ranges.start(i) && now <= ranges.end(i),
    );
    if (!inBuffer || end - now > MAX_LAG_S)
      video.currentTime = Math.max(ranges.start(ranges.length - 1), end - LIVE_DELAY_S);
    if (video.paused) await video.play().catch(() => undefined);
    const behind = video.currentTime - KEEP_BEHIND_S;
    if (ranges.start(0) < behind - 5 && !buffer.updating) {
      await new Promise((resolve) => {
        buffer.addEventListener('updateend', resolve, { once: true });
        buffer.remove(0, behind);
      });
    }
  }

  /** Plays, and on a failure other than HlsUnavailable starts over after a pause. */
  async function run() {
    let retryMs = 1000;
    for (;;) {
      try {
        await play();
        return;
      } catch (error) {
        if (stopped) return;
        if (error instanceof HlsUnavailable) throw error;
        onStatus({ playing: false, message: `${error.message}; retrying…` });
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        retryMs = Math.min(retryMs * 2, 8000);
      }
    }
  }

  return {
    timeline,
    ended: run(),
    stop() {
      stopped = true;
      abort.abort();
    },
  };
}
